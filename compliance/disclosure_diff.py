"""Word-level redline between two disclosure versions, with no Django import.

Text is cut into tokens — words, runs of whitespace, single punctuation marks — and every CJK
character is a token of its own, since Chinese has no spaces between words. difflib matches the two
token lists; the result is a list of segments {"op": "equal" | "insert" | "delete", "text": ...}
whose `equal` and `delete` texts concatenate to the old text and `equal` and `insert` texts to the
new one (a replacement is a deletion followed by an insertion).

Risk statements are matched by key: a statement is `added`, `removed`, `changed` or `unchanged`; so are
the sections of the product's category (with their titles).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

EQUAL, INSERT, DELETE = "equal", "insert", "delete"
ADDED, REMOVED, CHANGED, UNCHANGED = "added", "removed", "changed", "unchanged"

# CJK ideographs, kana, bopomofo, CJK punctuation and full-width forms: one token per character.
_CJK = ("\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff"
        "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef")
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|.", re.DOTALL)


def tokenize(text: str) -> list[str]:
    """Words, whitespace runs and punctuation marks; each CJK character alone. ''.join(tokens) == text."""
    return _TOKEN.findall(text or "")


def _push(segments: list[dict[str, str]], op: str, text: str) -> None:
    if not text:
        return
    if segments and segments[-1]["op"] == op:
        segments[-1]["text"] += text
    else:
        segments.append({"op": op, "text": text})


def diff_text(old: str, new: str) -> list[dict[str, str]]:
    """Segments turning `old` into `new`, word by word (character by character for CJK)."""
    a, b = tokenize(old), tokenize(new)
    segments: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _push(segments, EQUAL, "".join(a[i1:i2]))
        else:  # replace, delete, insert: what went, then what came
            _push(segments, DELETE, "".join(a[i1:i2]))
            _push(segments, INSERT, "".join(b[j1:j2]))
    return segments


def is_changed(segments: Sequence[Mapping[str, str]]) -> bool:
    return any(s["op"] != EQUAL for s in segments)


def diff_statements(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Statements [{key, text}] matched by key: the new order first, then those removed (old order)."""
    before = {s["key"]: s["text"] for s in old}
    after_keys = {s["key"] for s in new}
    out: list[dict[str, Any]] = []
    for statement in new:
        key = statement["key"]
        if key not in before:
            out.append({"key": key, "change": ADDED, "diff": diff_text("", statement["text"])})
            continue
        segments = diff_text(before[key], statement["text"])
        out.append({"key": key, "change": CHANGED if is_changed(segments) else UNCHANGED, "diff": segments})
    for statement in old:
        if statement["key"] not in after_keys:
            out.append({"key": statement["key"], "change": REMOVED, "diff": diff_text(statement["text"], "")})
    return out


def diff_sections(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Sections [{key, title, text}] matched by key like statements, each with its title (the new one, or the
    old one for a section removed, e.g. after the product's category changed)."""
    titles = {s["key"]: s.get("title", s["key"]) for s in old} | {s["key"]: s.get("title", s["key"]) for s in new}
    return [{"title": titles[change["key"]], **change} for change in diff_statements(old, new)]


def diff_disclosure(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The redline of one language: `old` and `new` are {"text": body, "risk_statements": [{key, text}],
    "sections": [{key, title, text}]} (sections optional: none before they existed)."""
    text = diff_text(old["text"], new["text"])
    statements = diff_statements(old["risk_statements"], new["risk_statements"])
    sections = diff_sections(old.get("sections", []), new.get("sections", []))
    return {"changed": is_changed(text) or any(s["change"] != UNCHANGED for s in [*statements, *sections]),
            "text": text, "risk_statements": statements, "sections": sections}
