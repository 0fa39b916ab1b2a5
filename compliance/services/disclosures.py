"""Writes for risk disclosures: draft, approve (maker ≠ checker), reject."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any


def disclosure_content_hash(*, body_en: str, body_zh_hant: str, risk_statements: Sequence[dict[str, Any]]) -> str:
    """sha256 of the canonical content (both bodies and every statement), stable across key order."""
    payload = {"body_en": body_en, "body_zh_hant": body_zh_hant,
               "risk_statements": [{"key": s["key"], "en": s["en"], "zh-hant": s["zh-hant"]} for s in risk_statements]}
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
