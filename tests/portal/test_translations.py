"""The Traditional Chinese catalogue is complete and compiled; pages and messages come out in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[tuple[str, str, str]]:
    """(flags, msgid, msgstr) of every entry after the header."""
    out = []
    for block in text.split("\n\n")[1:]:
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        msgid = "".join(re.findall(r'^(?:msgid|")(?: )?"?(.*?)"$', block.split("msgstr")[0], re.M))
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr", 1)[1])) if "msgstr" in block else ""
        out.append((flags, msgid, msgstr))
    return out


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = _entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 700
    assert [m for f, m, s in entries if not s.strip()] == []
    assert [m for f, m, s in entries if "fuzzy" in f] == []


def test_compiled_catalogue_is_used():
    assert PO.with_suffix(".mo").exists(), "compile the catalogue first: make install (gettext's msgfmt)"
    with translation.override("zh-hant"):
        assert translation.gettext("Dashboard") == "總覽"
        assert translation.gettext("Please read and acknowledge this product's risk disclosure first.") == \
            "請先細閱並確認此產品的風險披露。"


@pytest.mark.django_db
def test_pages_in_traditional_chinese(client, assets):
    from tests.earn.factories import live_product

    product = live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期")
    client.cookies["django_language"] = "zh-hant"
    home = client.get("/").content.decode()
    assert "賺幣產品" in home and "USDT 活期" in home and "年收益率（每日複利）" in home
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "風險披露" in page and "以英文閱讀" in page and "以英文版本為準" in page
