"""General VQA: MMStar, MMBench (circular), AI2D, MM-Vet, HallusionBench."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import (
    CHOICE,
    LETTERS,
    OPEN,
    BenchmarkSpec,
    EvalItem,
    register,
    user,
)
from thinkvl.eval.benchmarks.rows import RowError, as_list, field, image_ref, read_rows, roots_for

CHOICE_SUFFIX = "Answer with the option's letter from the given choices."


def _bump(skipped: dict[str, int] | None, reason: str) -> None:
    if skipped is not None:
        skipped[reason] = skipped.get(reason, 0) + 1


def _image_parts(row: dict, file: Path, path: Path, where: str, *names: str) -> list[dict]:
    for name in names or ("image",):
        ref = image_ref(row.get(name), roots_for(file, path), where)
        if ref:
            return [{"type": "image", "image": ref}]
    return []


# -- MMStar --------------------------------------------------------------------------------------

_MMSTAR_OPT = re.compile(r"([A-F])\s*[:.]\s*(.*?)(?=,?\s*[A-F]\s*[:.]\s|\s*$)", re.DOTALL)


def mmstar_options(question: str) -> list[str]:
    """Options written into MMStar's question: "…\\nOptions: A: x, B: y, C: z, D: w"."""
    _, sep, tail = question.rpartition("Options:")
    if not sep:
        return []
    return [m.group(2).strip().rstrip(",") for m in _MMSTAR_OPT.finditer(tail.strip())]


def load_mmstar(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MMStar (``Lin-Chen/MMStar``, split ``val``): ``index, question`` (options written in
    it), ``image, answer`` (a letter), ``category, l2_category``. Letter accuracy by core
    capability (category) and its 18 detailed axes (l2_category)."""
    for file, n, row in read_rows(path, split="val"):
        where = f"{file} row {n}"
        q = str(field(row, "question", where=where))
        cats = {k: str(row[k]) for k in ("category", "l2_category") if row.get(k)}
        yield EvalItem(id=str(field(row, "index", where=where)), bench="mmstar", family=CHOICE,
                       domain="choice",
                       prompt=user(_image_parts(row, file, path, where) +
                                   [{"type": "text", "text": q}]),
                       answer=str(field(row, "answer", where=where)).strip(), question=q,
                       base_dir=str(file.parent), group=cats.get("category", "all"),
                       meta={"choices": mmstar_options(q)}, metric="choice", categories=cats)


# -- MMBench -------------------------------------------------------------------------------------

CIRCULAR = 1_000_000  # MMBench numbers a rotated copy index + k * 1e6


def _mmbench_prompt(hint: str, question: str, options: list[str]) -> str:
    lines = [f"Hint: {hint}"] if hint else []
    lines += [f"Question: {question}", "Options:"]
    lines += [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]
    lines.append("Please select the correct answer from the options above.")
    return "\n".join(lines)


def load_mmbench(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MMBench (``lmms-lab/MMBench``, config ``en`` — point at ``cn/`` for Chinese — split
    ``dev``; or VLMEvalKit's ``MMBench_DEV_EN.tsv``): ``index, question, hint, A, B, C,
    D[, E], answer, category,
    image, source, l2-category`` (also spelled ``L2-category``). CircularEval: when the file
    holds no rotated copies (index ≥ 1e6), every question is asked once per rotation of its
    options, and counts only when all rotations are right. Rows without an answer (the test
    split, scored on the MMBench server) are left out and counted."""
    rows, have_copies = [], False
    for file, n, row in read_rows(path, split="dev", config="en"):
        where = f"{file} row {n}"
        idx = int(field(row, "index", where=where))
        have_copies |= idx >= CIRCULAR
        rows.append((file, where, idx, row))
    for file, where, idx, row in rows:
        answer = str(row.get("answer") or "").strip()
        if not answer:
            _bump(skipped, "without an answer (test split: scored on the MMBench server)")
            continue
        options = [str(row[k]) for k in LETTERS[:8] if row.get(k) not in (None, "", "nan")
                   and str(row.get(k)) != "nan"]
        if answer not in LETTERS[:len(options)]:
            raise RowError(f"{where}: answer {answer!r} is not one of the {len(options)} options")
        hint = row.get("hint")
        hint = "" if hint is None or str(hint) == "nan" else str(hint)
        image = _image_parts(row, file, path, where)
        l2 = row.get("l2-category") or row.get("L2-category") or row.get("l2_category")
        cats = {k: str(v) for k, v in (("category", row.get("category")),
                                       ("l2-category", l2)) if v}
        rotations = [0] if have_copies else range(len(options))
        for k in rotations:
            opts = options[k:] + options[:k]
            gold = LETTERS[(LETTERS.index(answer) - k) % len(options)]
            q = _mmbench_prompt(hint, str(field(row, "question", where=where)), opts)
            yield EvalItem(id=str(idx + k * CIRCULAR), bench="mmbench", family=CHOICE,
                           domain="choice", prompt=user(image + [{"type": "text", "text": q}]),
                           answer=gold, question=q, base_dir=str(file.parent),
                           group=cats.get("category", "all"),
                           meta={"choices": opts, "circular_group": idx % CIRCULAR,
                                 "rotation": k or idx // CIRCULAR},
                           metric="mmbench", categories=cats)


# -- AI2D ----------------------------------------------------------------------------------------

def load_ai2d(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """AI2D (``lmms-lab/ai2d``, split ``test``): ``question, options`` (a list), ``answer``
    (the option's index as text, "0"–"3"), ``image``. Letter accuracy."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        options = [str(o) for o in as_list(field(row, "options", where=where), where)]
        raw = str(field(row, "answer", where=where)).strip()
        if raw.isdigit() and int(raw) < len(options):
            answer = LETTERS[int(raw)]
        elif raw in LETTERS[:len(options)]:
            answer = raw
        else:
            raise RowError(f"{where}: answer {raw!r} is neither an option index nor a letter")
        q = (f"{field(row, 'question', where=where)}\n"
             + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
             + f"\n{CHOICE_SUFFIX}")
        yield EvalItem(id=str(row.get("id") or row.get("question_id") or n), bench="ai2d",
                       family=CHOICE, domain="choice",
                       prompt=user(_image_parts(row, file, path, where) +
                                   [{"type": "text", "text": q}]),
                       answer=answer, question=q, base_dir=str(file.parent),
                       meta={"choices": options}, metric="choice")


# -- MM-Vet --------------------------------------------------------------------------------------

def load_mmvet(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MM-Vet (``lmms-lab/MMVet`` split ``test``: ``question_id, image, question, answer,
    image_source, capability``; or the original ``mm-vet.json`` keyed by id with
    ``imagename`` and an ``images/`` folder). Graded 0–1 by the judge with MM-Vet's few-shot
    prompt; the mean per capability (rec, ocr, know, gen, spat, math)."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        qid = str(row.get("question_id") or row.get("_key") or n)
        image = _image_parts(row, file, path, where, "image")
        if not image and row.get("imagename"):  # the original JSON: images/<imagename>
            roots, name = roots_for(file, path), str(row["imagename"])
            name = name if any((r / name).exists() for r in roots) else f"images/{name}"
            image = [{"type": "image", "image": image_ref(name, roots, where)}]
        caps = row.get("capability") or []
        caps = [c.strip() for c in caps.split(",")] if isinstance(caps, str) else list(caps)
        q = str(field(row, "question", where=where))
        yield EvalItem(id=qid, bench="mmvet", family=OPEN, domain="general",
                       prompt=user(image + [{"type": "text", "text": q}]),
                       answer=str(field(row, "answer", where=where)), question=q,
                       base_dir=str(file.parent), group=",".join(sorted(caps)) or "all",
                       metric="mmvet", categories={"capability": caps})


# -- HallusionBench ------------------------------------------------------------------------------

def load_hallusionbench(path: Path, skipped: dict[str, int] | None = None
                        ) -> Iterator[EvalItem]:
    """HallusionBench (``lmms-lab/HallusionBench``, splits ``image`` and ``non_image``):
    ``category`` (VD/VS), ``subcategory, visual_input, set_id, figure_id, sample_note,
    question_id, question, gt_answer_details, gt_answer`` ("1" yes / "0" no), ``filename,
    image``. Yes/no accuracy with the published aAcc, fAcc and qAcc."""
    for file, n, row in read_rows(path):
        where = f"{file} row {n}"
        m = {k: str(row.get(k)) for k in ("category", "subcategory", "set_id", "figure_id",
                                          "question_id", "visual_input")}
        image = [] if m["visual_input"] == "0" else _image_parts(row, file, path, where)
        q = str(field(row, "question", where=where))
        iid = "_".join(m[k] for k in ("category", "subcategory", "set_id", "figure_id",
                                      "question_id"))
        yield EvalItem(id=iid, bench="hallusionbench", family=OPEN, domain="vqa",
                       prompt=user(image + [{"type": "text", "text": q}]),
                       answer=str(field(row, "gt_answer", where=where)).strip(), question=q,
                       base_dir=str(file.parent), group=m["category"], meta=m,
                       metric="hallusionbench",
                       categories={"category": m["category"], "subcategory": m["subcategory"]})


for _spec in (
    BenchmarkSpec("mmstar", load_mmstar, "mmstar", CHOICE, "MMStar", split="val",
                  metric="choice"),
    BenchmarkSpec("mmbench", load_mmbench, "mmbench", CHOICE, "MMBench dev (circular)",
                  split="dev", metric="mmbench"),
    BenchmarkSpec("ai2d", load_ai2d, "ai2d", CHOICE, "AI2D test", split="test", metric="choice"),
    BenchmarkSpec("mmvet", load_mmvet, "mmvet", OPEN, "MM-Vet", split="test", metric="mmvet"),
    BenchmarkSpec("hallusionbench", load_hallusionbench, "hallusionbench", OPEN,
                  "HallusionBench", metric="hallusionbench"),
):
    register(_spec)
