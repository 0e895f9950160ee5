"""The tokenizer corpus covers every word the generators emit."""

from __future__ import annotations

import re

from thinkvl.data.synthetic import vocabulary_corpus
from thinkvl.data.synthetic.gui import LABELS
from thinkvl.format import strip_markers

_WORD = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]")


def _texts(records) -> list[str]:
    out = []
    for recs in records.values():
        for r in recs:
            if "text" in r:
                out.append(r["text"])
            for m in r.get("prompt", []) + r.get("messages", []):
                content = m["content"]
                out += [strip_markers(content)] if isinstance(content, str) else \
                    [p["text"] for p in content if p["type"] == "text"]
            if isinstance(r.get("answer"), str):
                out.append(r["answer"])
            out += [str(v) for v in r.get("meta", {}).get("options", {}).values()]
    return out


def test_corpus_is_deterministic() -> None:
    assert vocabulary_corpus() == vocabulary_corpus()


def test_corpus_covers_generated_words(records) -> None:
    corpus = set(_WORD.findall(" ".join(vocabulary_corpus())))
    used = set(_WORD.findall(" ".join(_texts(records))))
    chars = set("".join(corpus))
    # English words and button labels must be whole words of the corpus; OCR strings (random
    # uppercase letters) only need their letters.
    words = {w for w in used if w.isalpha() and (not w.isupper() or w in LABELS)}
    assert words - corpus == set()
    assert set("".join(used)) - chars == set()
