"""The API's JSON parser (kept apart from core.api: DRF imports parsers while building APIView)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with two more refusals as 400 instead of a 500.

    A deeply nested body (3,000 `[`) makes the json module raise RecursionError, which DRF does not
    catch; a NUL character in any string (or key) would reach PostgreSQL, which refuses NUL in text
    and jsonb. Both are refused before any view runs, on every endpoint, signed in or not.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the body is nested too deeply.")) from None
        if _contains_nul(data):
            raise NulCharacter()
        return data


class NulCharacter(exceptions.ParseError):
    default_detail = _("The request contains a NUL character.")
    default_code = "nul_character"


def _contains_nul(data: Any) -> bool:
    """Whether a NUL appears in any string of parsed JSON (iterative: the depth is the client's)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
