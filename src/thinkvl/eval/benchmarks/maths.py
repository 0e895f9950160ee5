"""Visual maths and logic: MathVision, MathVerse, We-Math, DynaMath, LogicVista.

Multiple choice is scored by letter; free-form answers by symbolic/numeric equivalence (the
reward system's maths verifier), standing in for the GPT-based equivalence checks some of
these benchmarks publish; We-Math adds its four-dimensional metric and DynaMath its
worst-case accuracy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import (
    CHOICE,
    LETTERS,
    NUMERIC,
    BenchmarkSpec,
    EvalItem,
    options_text,
    register,
    user,
)
from thinkvl.eval.benchmarks.rows import as_list, field, image_ref, read_rows, roots_for

_INLINE_OPT = re.compile(r"(?:^|\n|\s)\(?([A-H])[):：.]\s*([^\n;]*?)"
                         r"(?=\s*(?:;|\n|\(?[A-H][):：.]\s|$))")


def inline_options(text: str) -> list[str]:
    """Options written inside a question ("Choices:\\nA: 1\\nB: 2", "(A) x (B) y",
    "A. x; B. y"), in order, when they run A, B, C…; else none."""
    tail = re.split(r"Choices:|Options:|Option:", text, maxsplit=1)[-1]
    found = [(m.group(1), m.group(2).strip()) for m in _INLINE_OPT.finditer(tail)]
    letters = [k for k, _ in found]
    if len(found) >= 2 and letters == list(LETTERS[:len(found)]):
        return [v for _, v in found]
    return []


def _image(row: dict, file: Path, path: Path, where: str, *names: str) -> list[dict]:
    for name in names:
        ref = image_ref(row.get(name), roots_for(file, path), where)
        if ref:
            return [{"type": "image", "image": ref}]
    return []


def _item(bench: str, iid: str, parts: list[dict], text: str, answer, choices: list[str],
          file: Path, metric: str, cats: dict, meta: dict | None = None) -> EvalItem:
    is_choice = bool(choices) or (meta or {}).get("multiple_choice", False)
    return EvalItem(id=iid, bench=bench, family=CHOICE if is_choice else NUMERIC,
                    domain="choice" if is_choice else "math",
                    prompt=user(parts + [{"type": "text", "text": text}]), answer=answer,
                    question=text, base_dir=str(file.parent),
                    group=str(next(iter(cats.values()), "all")),
                    meta={"choices": choices, **(meta or {})}, metric=metric,
                    categories=cats)


def load_mathvision(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MathVision (``MathLLMs/MathVision``, split ``test``; ``testmini`` by path): ``id,
    question, options, image, decoded_image, answer, solution, level, subject``."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        options = [str(o) for o in as_list(row.get("options"), where)]
        q = str(field(row, "question", where=where))
        text = f"{q}\nChoices:\n{options_text(options)}" if options else q
        answer = str(field(row, "answer", where=where)).strip()
        cats = {k: str(row[k]) for k in ("subject", "level") if row.get(k) is not None}
        yield _item("mathvision", str(field(row, "id", where=where)),
                    _image(row, file, path, where, "decoded_image", "image"), text, answer,
                    options, file, "math", cats)


def load_mathverse(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MathVerse (``AI4Math/MathVerse``, config/split ``testmini``): ``sample_index,
    problem_index, problem_version, question, image, answer, question_type`` (multi-choice |
    free-form), ``metadata, query_wo, query_cot, question_for_eval``. The prompt is
    ``query_wo``; by problem version (Text Dominant … Vision Only) and subject. In a snapshot
    folder the ``testmini`` config is read (``testmini_text_only`` repeats its ids)."""
    for file, n, row in read_rows(path, split="testmini", config="testmini"):
        where = f"{file} row {n}"
        text = str(row.get("query_wo") or field(row, "question", where=where))
        mc = str(row.get("question_type", "")).startswith("multi")
        choices = inline_options(str(row.get("question") or text)) if mc else []
        info = row.get("metadata") or {}
        cats = {"version": str(row.get("problem_version") or "all")}
        if isinstance(info, dict) and info.get("subject"):
            cats["subject"] = str(info["subject"])
        yield _item("mathverse", str(field(row, "sample_index", where=where)),
                    _image(row, file, path, where, "image"), text,
                    str(field(row, "answer", where=where)).strip(), choices, file, "math",
                    cats, {"multiple_choice": mc})


def load_wemath(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """We-Math (``We-Math/We-Math``, split ``testmini``): ``ID, split, knowledge concept,
    question, option`` ("A. …; B. …"), ``answer, image_path, key`` (1step / Nsteps_i /
    Nsteps_multi), ``question number``. Letters; IK / IG / CM / RM and the scores."""
    for file, n, row in read_rows(path, split="testmini"):
        where = f"{file} row {n}"
        option = str(row.get("option") or "")
        text = f"{field(row, 'question', where=where)}\n{option}".strip()
        key = str(row.get("key") or "")
        steps = key.split("step")[0] if "step" in key else "?"
        cats = {"steps": steps}
        if row.get("knowledge concept"):
            cats["knowledge"] = str(row["knowledge concept"])
        iid = str(row.get("question number") or f"{row.get('ID')}|{key}")
        yield _item("wemath", iid, _image(row, file, path, where, "image_path", "image"), text,
                    str(field(row, "answer", where=where)).strip(), inline_options(option),
                    file, "wemath", cats, {"key": key, "problem_id": row.get("ID"),
                                           "multiple_choice": True})


def load_dynamath(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """DynaMath (``DynaMath/DynaMath_Sample``, configs ``sample_variant1..10``): ``id`` (the
    seed question), ``question, image, decoded_image, ground_truth, answer_type`` (multiple
    choice | float | text), ``subject, knowledge_level``. The variant is the file's config
    folder or name. Average- and worst-case accuracy over seeds."""
    for file, n, row in read_rows(path):
        where = f"{file} row {n}"
        variant = next((p for p in reversed(file.parts) if "variant" in p),
                       file.stem).split("-")[0]
        seed = str(field(row, "id", "question_id", where=where))
        q = str(field(row, "question", where=where))
        atype = str(row.get("answer_type") or "")
        choices = inline_options(q) if "choice" in atype else []
        cats = {k: str(row[k]) for k in ("subject", "knowledge_level") if row.get(k)}
        yield _item("dynamath", f"{variant}-{seed}",
                    _image(row, file, path, where, "decoded_image", "image"), q,
                    str(field(row, "ground_truth", "answer", where=where)).strip(), choices,
                    file, "dynamath", cats,
                    {"seed": seed, "answer_type": atype, "variant": variant,
                     "multiple_choice": "choice" in atype})


def load_logicvista(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """LogicVista (``lscpku/LogicVista``, split ``test``): ``question`` (options written in
    it), ``answer`` (one or more letters, e.g. "A, C"), ``image``; the skill field is read
    from ``skill``/``skills``/``capability``/``category`` (published copies differ). All
    letters must match."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        q = str(field(row, "question", where=where))
        answer = sorted(set(re.findall(r"[A-H]", str(field(row, "answer", where=where)))))
        skill = next((row[k] for k in ("skill", "skills", "capability", "category")
                      if row.get(k)), None)
        cats = {"skill": as_list(skill, where) if skill is not None else ["all"]}
        iid = str(row.get("id") or row.get("imagename") or n)
        yield _item("logicvista", iid, _image(row, file, path, where, "image", "imagename"), q,
                    answer, inline_options(q), file, "choice", cats, {"multiple_choice": True})


for _spec in (
    BenchmarkSpec("mathvision", load_mathvision, "mathvision", CHOICE, "MathVision test",
                  split="test", metric="math"),
    BenchmarkSpec("mathverse", load_mathverse, "mathverse", CHOICE, "MathVerse testmini",
                  split="testmini", metric="math"),
    BenchmarkSpec("wemath", load_wemath, "wemath", CHOICE, "We-Math testmini",
                  split="testmini", metric="wemath"),
    BenchmarkSpec("dynamath", load_dynamath, "dynamath", NUMERIC, "DynaMath (10 variants)",
                  metric="dynamath"),
    BenchmarkSpec("logicvista", load_logicvista, "logicvista", CHOICE, "LogicVista",
                  split="test", metric="choice"),
):
    register(_spec)
