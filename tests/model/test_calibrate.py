"""Vision calibration of the tiny model: the merger's output is centred and at text scale."""

import pytest
import torch

from thinkvl.model.calibrate import calibrate_vision, synthetic_calibration_images, vision_features
from thinkvl.model.factory import build_tiny, load_model, load_processor

CORPUS = ["How many red squares are there?", "The text reads K 7 Q."] * 5


def _stats(model, processor, images):
    with torch.no_grad():
        feats = vision_features(model, processor, images)
    text = model.get_input_embeddings().weight.norm(dim=-1).mean().item()
    return feats.norm(dim=-1).mean().item(), feats.mean(0).norm().item(), text


def test_built_model_is_calibrated_and_uncalibrated_is_not(tmp_path):
    images = synthetic_calibration_images(per_domain=4, seed=7)  # not the images it was fitted on
    raw = build_tiny(tmp_path / "raw", corpus=CORPUS, seed=0, calibrate=False)
    cal = build_tiny(tmp_path / "cal", corpus=CORPUS, seed=0)
    norm, shared, text = _stats(load_model(raw), load_processor(raw), images)
    assert shared > 0.6 * norm and norm < 0.3 * text  # the failure it fixes: small, one shared direction
    norm, shared, text = _stats(load_model(cal), load_processor(cal), images)
    assert 0.7 * text < norm < 1.3 * text
    assert shared < 0.35 * norm
    # only the position embedding and the merger's last projection differ
    a, b = load_model(raw).state_dict(), load_model(cal).state_dict()
    changed = sorted(k for k in a if not torch.equal(a[k], b[k]))
    assert changed == ["model.visual.embeddings.position_embedding.weight", "model.visual.merger.down_proj.weight"]
    pos = load_model(cal).model.visual.embeddings.position_embedding.weight
    assert pos.norm(dim=1).mean().item() == pytest.approx(0.3 * pos.shape[1] ** 0.5, rel=1e-4)


def test_calibration_folds_into_down_proj_exactly(tiny_dir):
    model, processor = load_model(tiny_dir), load_processor(tiny_dir)
    images = synthetic_calibration_images(per_domain=2)
    stats = calibrate_vision(model, processor, images)
    norm, shared, text = _stats(model, processor, images)
    assert shared == pytest.approx(0.0, abs=1e-4 * norm)  # centred exactly on its own images
    assert norm == pytest.approx(text, rel=1e-4)
    assert stats["token_norm_after"] == pytest.approx(norm, rel=1e-5)


def test_calibration_rejects_bad_input(tiny_dir):
    with pytest.raises(ValueError, match="at least one image"):
        calibrate_vision(load_model(tiny_dir), load_processor(tiny_dir), [])
    with pytest.raises(ValueError, match="position_share"):
        calibrate_vision(load_model(tiny_dir), load_processor(tiny_dir), synthetic_calibration_images(1), -1)
