"""Does the tiny model's language model learn to read what its random vision tower sees?

A controlled probe: single glyphs (34 classes) drawn in one random token cell of a blank 64x64
image, prompt "What text is shown in the image?", target the glyph. The language model trains
(teacher forcing, Adam 1e-3, batch 64, vision tower frozen) and held-out glyph accuracy is read
every ``--every`` steps, for the tiny model built without and with vision calibration
(``thinkvl.model.calibrate``), same seed. Run:

    PYTHONPATH=src python bench/vision_calibration.py --steps 150 --out /tmp/vision_calibration.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from thinkvl.data.synthetic import ocr
from thinkvl.data.synthetic.draw import canvas, draw_cells
from thinkvl.model.calibrate import synthetic_calibration_images, vision_features
from thinkvl.model.factory import build_tiny, load_model, load_processor
from thinkvl.model.inputs import Media, collate, encode_sample

PROMPT = "What text is shown in the image?"


def glyph_samples(processor, n: int, rng: random.Random) -> list:
    samples = []
    for _ in range(n):
        ch = rng.choice(ocr.CHARSET)
        img, draw = canvas(64)
        draw_cells(draw, ch, 64, rng.randrange(4), rng.randrange(4))
        prompt = [{"role": "user", "content": [{"type": "image", "image": img}, {"type": "text", "text": PROMPT}]}]
        samples.append(encode_sample(processor, prompt, ch, media=Media(images=[img], videos=[])))
    return samples


@torch.no_grad()
def glyph_accuracy(model, samples, pad: int) -> float:
    model.eval()
    right = 0
    for k in range(0, len(samples), 64):
        chunk = samples[k:k + 64]
        batch = collate(chunk, pad)
        logits = model(**{key: v for key, v in batch.items() if key != "labels"}).logits
        right += sum(int(logits[i, s.prompt_len - 1].argmax() == s.input_ids[s.prompt_len]) for i, s in enumerate(chunk))
    model.train()
    return right / len(samples)


def probe(model_dir: Path, steps: int, every: int, seed: int) -> dict:
    model, processor = load_model(model_dir), load_processor(model_dir)
    with torch.no_grad():
        feats = vision_features(model, processor, synthetic_calibration_images(seed=seed + 1))
    rng = random.Random(seed)
    train, test = glyph_samples(processor, 3000, rng), glyph_samples(processor, 256, rng)
    for p in model.model.visual.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    pad = processor.tokenizer.pad_token_id
    curve, start = [], time.time()
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            curve.append([step, round(glyph_accuracy(model, test, pad), 3)])
        if step == steps:
            break
        loss = model(**collate([train[rng.randrange(len(train))] for _ in range(64)], pad)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    text = model.get_input_embeddings().weight.norm(dim=-1).mean().item()
    return {"curve": curve, "seconds": round(time.time() - start, 1),
            "vision_token_norm": round(feats.norm(dim=-1).mean().item(), 4),
            "shared_direction_norm": round(feats.mean(0).norm().item(), 4),
            "text_embedding_norm": round(text, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, calibrate in (("random", False), ("calibrated", True)):
            folder = build_tiny(Path(tmp) / name, seed=args.seed, calibrate=calibrate)
            results[name] = probe(folder, args.steps, args.every, args.seed)
            r = results[name]
            print(f"{name:10s} vision token norm {r['vision_token_norm']:.3f} (shared {r['shared_direction_norm']:.3f}, "
                  f"text {r['text_embedding_norm']:.3f})  glyph accuracy by step {r['curve']}  {r['seconds']} s")
    if args.out:
        args.out.write_text(json.dumps({"steps": args.steps, "seed": args.seed, **results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
