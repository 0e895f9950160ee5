"""One JSON Lines record from raw bytes, with every malformed input a located ``RecordError``.

Shared by the record readers, ``thinkvl data check`` and ``thinkvl reward score``: a bad line
must say FILE:LINE and what is wrong, never end in a traceback (issue 20, finding 7).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from thinkvl.data.schema import RecordError


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (write null, or a number)")


SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def decode_line(raw: bytes, file: Path | str, line: int) -> dict[str, Any]:
    """One JSON Lines record, or a ``RecordError`` naming FILE:LINE and what is wrong — for
    every malformed input, not only a syntax error: invalid UTF-8, lone surrogates (text that
    cannot be written back as UTF-8), NaN/Infinity, integers past Python's 4,300-digit limit,
    and nesting deeper than the parser's recursion limit (100k-deep arrays crashed ``data
    check`` and ``reward score`` with tracebacks)."""
    try:
        rec = json.loads(raw, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise RecordError(file, line, "json",
                          f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise RecordError(file, line, "json", f"not UTF-8 text: {exc.reason}") from None
    except RecursionError:
        raise RecordError(file, line, "json", "nested too deeply to read") from None
    except ValueError as exc:  # NaN/Infinity, an integer with more than 4,300 digits
        why = str(exc).split(";")[0]
        if "digits" in why:
            why = ("an integer with more digits than Python reads (4,300); write it as a "
                   f"string ({why.split(': ')[-1]})")
        raise RecordError(file, line, "json", why) from None
    if not isinstance(rec, dict):
        kind = "array" if isinstance(rec, list) else type(rec).__name__
        raise RecordError(file, line, "record", f"expected a JSON object, got {kind}")
    if SURROGATE_ESCAPE_RE.search(raw):
        where = lone_surrogate(rec, "")
        if where is not None:
            raise RecordError(file, line, where or "record", "holds a lone surrogate "
                              "(\\ud800-\\udfff without its pair): not valid Unicode text")
    return rec


def lone_surrogate(value: Any, path: str) -> str | None:
    """The field path of the first string (or key) that is not encodable UTF-8, else None."""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(value, dict):
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                try:
                    k.encode("utf-8")
                except UnicodeEncodeError:
                    return path or "record"
                stack.append((v, sub))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
    return None
