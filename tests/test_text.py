"""db.text: the shortcut for plain paragraphs gives what Markdown itself gives."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from db import text

PIECES = st.lists(st.sampled_from(["村", "社", "路灯", "。", "，", "1.5", "2024", " ", "  ", "\n", "\n\n", "\n \n", "a", "-",
                                   "（", "）", ":", "*", "#", "1. ", "    ", "\t", "<b>", "&", "'", '"', "=", "+"]),
                  max_size=30).map("".join)


@settings(max_examples=1500, deadline=None)
@given(PIECES)
@example("一段文字。\n第二行\n\n第二段")
@example("末尾  ")
@example("\n\n开头空行\n\n\n")
def test_plain_paragraphs_render_as_markdown_renders_them(source):
    slow = text._converter().reset().convert(source)
    expected = text.nh3.clean(slow, tags=text.ALLOWED_TAGS, attributes=text.ALLOWED_ATTRIBUTES,
                              url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    assert text.render_markdown(source) == expected


def test_spreadsheet_cells_that_start_like_a_formula_are_neutralised():
    from db.text import spreadsheet_safe

    for hostile in ("=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1",
                    "\r=1", " =HYPERLINK(1)", "\u3000=1+1"):
        assert spreadsheet_safe(hostile) == "'" + hostile, hostile
    for plain in ("1234.56", "-5.00", "0", "张三", "祝福家乡", "", "a=b", 12, None):
        assert spreadsheet_safe(plain) == plain, plain
