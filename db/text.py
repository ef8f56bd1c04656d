"""Text typed by village staff becomes HTML only through here: Markdown, then a whitelist sanitizer."""
from __future__ import annotations

import re
import threading

import markdown
import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
                "h3", "h4", "blockquote", "a", "code", "pre", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}

_local = threading.local()


def _converter() -> markdown.Markdown:
    """One Markdown instance per thread (building one costs far more than converting a paragraph)."""
    converter = getattr(_local, "markdown", None)
    if converter is None:
        converter = _local.markdown = markdown.Markdown(extensions=["tables"], output_format="html")
    return converter


# Text with none of Markdown's syntax is just paragraphs; most of what villages type is such text, and
# building the site converts tens of thousands of it (tests/test_text.py checks both paths agree).
_SYNTAX = re.compile(r"[\\`*_\[\]#<>&|~!{}=\t\r]|  \n|^[ \-+]|^\d+[.)]|\n[ \-+]|\n\d+[.)]")
_BLANK_LINES = re.compile(r"\n[ ]*\n[\n ]*")


def _paragraphs(text: str) -> str:
    return "\n".join(f"<p>{block}</p>" for block in _BLANK_LINES.split(text.strip("\n")) if block.strip())


def render_markdown(text: str) -> str:
    """Safe HTML: no scripts, event handlers, ``javascript:`` links or frames survive."""
    text = text or ""
    html = _converter().reset().convert(text) if _SYNTAX.search(text) else _paragraphs(text)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def plain(text: str) -> str:
    """Text with every tag removed (for places that show no markup at all)."""
    return nh3.clean(text or "", tags=set())


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_safe(value):
    """A cell Excel will not run, in every CSV and XLSX the project writes: text that starts like a
    formula (after any leading spaces, which Excel skips) gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value[:1] in FORMULA_FIRST:
        start = value.lstrip(" \u3000")
        if start.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(start):
            return "'" + value
    return value


FORMULA_FIRST = frozenset("=+-@\t\r \u3000")  # a cell starting with none of these needs no look
