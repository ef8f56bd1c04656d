"""What the public may see (慈善法 art. 82, 个人信息保护法): the one place that decides it.

The public site and its open data show donors only as they consented, never a phone or ID number
(even one typed into a free-text field), and turn staff-typed text into HTML only after sanitizing.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from .disclosures import PUBLISHABLE_STATES
from .money import format_fen
from .names import masked
from .text import plain, render_markdown

ANONYMOUS = "爱心人士"
REDACTED = "［已隐去］"

# Resident ID (18 digits, last may be X), mainland mobile, landline with area code; digits glued to
# other digits are left alone so that amounts and voucher numbers survive.
_ID_NUMBER = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_MOBILE = r"(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}"
_LANDLINE = r"0\d{2,3}[-\s]?\d{7,8}"
_BRACKETED_LANDLINE = r"\(0\d{2,3}\)[-\s]?\d{7,8}"  # the bracket already separates it from what precedes
PRIVATE_NUMBER = re.compile(
    rf"(?:(?<![\dA-Za-z])(?:{_ID_NUMBER}|{_MOBILE}|{_LANDLINE})|{_BRACKETED_LANDLINE})(?![\dA-Za-z])")
# Chinese input methods type full-width digits and letters; they are matched as their ASCII twins.
_FULL_WIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)}
                            | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
                            | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
                            | {"\uff08": "(", "\uff09": ")", "\uff0b": "+", "\uff0d": "-", "\u3000": " "})

PUBLIC_PROJECT_STATES = PUBLISHABLE_STATES


@lru_cache(maxsize=65536)
def donor_label(name: str, consent: str) -> str:
    """A donor as the public sees them: the name only with consent, ``张**`` with partial consent."""
    name = redact(name or "").strip()
    if not name or REDACTED in name:
        return ANONYMOUS
    if consent == "full":
        return name
    if consent == "masked":
        return masked(name)
    return ANONYMOUS


_DIGIT = re.compile(r"[0-9\uff10-\uff19]")


def redact(text: str) -> str:
    """Text with every phone and ID number (ASCII or full-width) replaced by ``［已隐去］``."""
    text = text or ""
    if _DIGIT.search(text) is None:
        return text
    ascii_twin = text.translate(_FULL_WIDTH)  # same length, so spans carry over to the original
    parts, end = [], 0
    for match in PRIVATE_NUMBER.finditer(ascii_twin):
        parts += [text[end:match.start()], REDACTED]
        end = match.end()
    return "".join(parts) + text[end:] if parts else text


@lru_cache(maxsize=4096)
def public_html(text: str) -> str:
    """Staff-typed Markdown as safe HTML, private numbers removed before and after sanitizing
    (markup between the digits, stripped by the sanitizer, must not join them back together)."""
    return redact(render_markdown(redact(text)))


def public_text(text: str) -> str:
    """Staff- or donor-typed text as plain text (no markup, no entities), private numbers removed.

    The result is text, not HTML: whatever shows it (templates, CSV) escapes it for its own format."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return redact(text).strip()
    return _marked_up_text(text)


@lru_cache(maxsize=65536)
def _marked_up_text(text: str) -> str:
    return redact(html.unescape(redact(plain(text)))).strip()


def federation(area_name: str, level: int) -> str:
    """The charity federation of an area: 中华慈善总会 at the top, ``X慈善总会`` below."""
    return "中华慈善总会" if level == 0 else f"{area_name}慈善总会"


@lru_cache(maxsize=65536)
def account_label(kind: str, area_name: str, area_level: int | None, name: str) -> str:
    """A ledger account as the public ledger names it (no account numbers, no people)."""
    if kind == "special":
        return "中华慈善总会专用账户"
    if kind == "pass_through":
        return federation(area_name, area_level or 0)
    if kind == "pool":
        return f"{federation(area_name, area_level or 0)}配捐资金池"
    if kind == "project":
        return f"{area_name}项目账户"
    if kind == "fund":
        return f"{area_name}互助基金"
    if kind == "donors":
        return "社会捐赠人"
    return redact(name) or "收款方"


def entry_note(kind: str, memo: str, reason: str) -> tuple[str, str]:
    """An entry's memo and reason as published.

    Donation and refund entries name the platform transaction number and may name the donor, so
    their notes are not published; every other note is system- or staff-written and is redacted."""
    if kind in ("donation", "refund"):
        return "", ("捐赠退款或冲正" if reason else "")
    return public_text(memo), public_text(reason)


def settlement_sentence(state: str, totals) -> str:
    """What happened, or will happen, to money a project could not use, from its ledger figures only
    (``db.totals.Totals``): the page says it and ``xfjy audit-site`` recomputes it from the open data."""
    moved, left, upstream = totals.to_fund, totals.unused, totals.upstream
    said = f"已有 {format_fen(moved)} 转入本村社互助基金，按基金规定运作。" if moved > 0 else ""
    if state == "closed":
        return said + (f"项目已结项，仍有 {format_fen(left)} 未转入互助基金。" if left else "项目已结项，项目账户已无结余。")
    if state == "target_missed":
        return said + (f"募集期满未达成目标，尚有 {format_fen(left)} 将转入本村社互助基金。" if left
                       else "募集期满未达成目标，已筹善款已全部转入本村社互助基金。")
    if state == "fundraising":
        return said + "募集期满未达成目标的善款，或超出目标的部分，将转入本村社互助基金，按基金规定运作。"
    if not left:
        return said + "项目目前没有未使用的善款。"
    waiting = f"（其中 {format_fen(upstream)} 尚未拨付到村）" if upstream else ""
    return said + f"项目目前尚有 {format_fen(left)} 未使用{waiting}，结项时结余转入本村社互助基金。"
