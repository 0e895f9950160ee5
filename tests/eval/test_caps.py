"""Vision caps on the pixels themselves (every backend, a remote server included)."""

from PIL import Image

from thinkvl.data.media import vision_tokens
from thinkvl.eval.backends.caps import cap_media
from thinkvl.eval.config import VisionSettings
from thinkvl.model.inputs import Media


def test_oversized_media_is_shrunk_to_the_caps_and_the_rest_left_alone(tiny):
    _, processor = tiny
    vision = VisionSettings(image_token_cap=64, video_token_cap=128)
    big, small = Image.new("RGB", (640, 480), "red"), Image.new("RGB", (64, 64), "blue")
    frames = [Image.new("RGB", (320, 240), "green") for _ in range(4)]
    out = cap_media(Media(images=[big, small], videos=[frames]), processor, vision)
    w, h = out.images[0].size
    assert vision_tokens(1, h, w, 8, 2) <= 64 and w < 640 and abs(w / h - 640 / 480) < 0.2
    assert out.images[1] is small
    fw, fh = out.videos[0][0].size
    assert vision_tokens(4, fh, fw, 8, 2) <= 128 and len(out.videos[0]) == 4
    untouched = cap_media(Media(images=[small]), processor, VisionSettings())
    assert untouched.images[0] is small
