"""Text typed by village staff becomes HTML only through here: Markdown, then a whitelist sanitizer."""
from __future__ import annotations

import markdown
import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
                "h3", "h4", "blockquote", "a", "code", "pre", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}


def render_markdown(text: str) -> str:
    """Safe HTML: no scripts, event handlers, ``javascript:`` links or frames survive."""
    html = markdown.markdown(text or "", extensions=["tables"], output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def plain(text: str) -> str:
    """Text with every tag removed (for places that show no markup at all)."""
    return nh3.clean(text or "", tags=set())
