"""web/render.py: the one link builder, the CST time text and the names every page family shares."""

from __future__ import annotations

from datetime import UTC, datetime

from farmtrace.web.i18n import MESSAGES, Translator
from farmtrace.web.render import cst_minute, cst_text, instructions, name, names, unit_name, url

ZH, EN = Translator("zh"), Translator("en")


def test_url_keeps_the_language_and_drops_empty_parameters():
    assert url("/console/lots/A", EN, direction="back", code="") == "/console/lots/A?direction=back&lang=en"
    assert url("/portal", ZH, next=None) == "/portal?lang=zh"
    assert url("/console/exports/lot", ZH, code="L/1", fmt="jsonld") == "/console/exports/lot?code=L%2F1&fmt=jsonld&lang=zh"


def test_cst_text_shows_stored_times_in_china_standard_time():
    assert cst_text("2026-11-19T16:30:00+00:00") == "2026-11-20 00:30"
    assert cst_text("2026-11-19T16:30:00") == "2026-11-20 00:30"  # naive text is stored UTC
    assert cst_text("2026-11-20T08:30:00+08:00") == "2026-11-20 08:30"
    assert cst_text("") == "" and cst_text(None) == ""
    assert cst_text("not a time") == "not a time"
    assert cst_minute(datetime(2026, 11, 19, 23, 59, tzinfo=UTC)) == "2026-11-20 07:59"


def test_names_are_in_the_pages_language_with_the_other_beside():
    both = {"name_zh": "宁乡花猪", "name_en": "Ningxiang pork"}
    assert names(both, ZH) == ("宁乡花猪", "Ningxiang pork")
    assert names(both, EN) == ("Ningxiang pork", "宁乡花猪")
    assert names({"name_zh": "白菜"}, EN) == ("白菜", None)
    assert name({"name_zh": "白菜", "name_en": "白菜"}, EN) == "白菜"
    assert names({"name_zh": "白菜", "name_en": "白菜"}, EN)[1] is None


def test_units_and_recall_instructions_in_the_pages_language():
    assert unit_name("kg", ZH) == ZH("unit.kg") and unit_name("kg", EN) == EN("unit.kg")
    assert unit_name("furlong", EN) == "furlong"
    zh_standard, en_standard = MESSAGES["recall.standard_instructions"]
    assert instructions(zh_standard, EN) == en_standard
    assert instructions(en_standard + " ", ZH) == zh_standard
    assert instructions("退回市场", EN) == "退回市场"
