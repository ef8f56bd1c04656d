"""What the public may see (慈善法 art. 82, 个人信息保护法): the one place that decides it.

The public site and its open data show donors only as they consented, never a phone or ID number
(even one typed into a free-text field), and turn staff-typed text into HTML only after sanitizing.
"""
from __future__ import annotations

import re

from .disclosures import PUBLISHABLE_STATES
from .names import masked
from .text import plain, render_markdown

ANONYMOUS = "爱心人士"
REDACTED = "［已隐去］"

# Resident ID (18 digits, last may be X), mainland mobile, landline with area code; digits glued to
# other digits are left alone so that amounts and voucher numbers survive.
_ID_NUMBER = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_MOBILE = r"(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}"
_LANDLINE = r"(?:\(0\d{2,3}\)|0\d{2,3})[-\s]?\d{7,8}"
PRIVATE_NUMBER = re.compile(rf"(?<![\dA-Za-z])(?:{_ID_NUMBER}|{_MOBILE}|{_LANDLINE})(?![\dA-Za-z])")

PUBLIC_PROJECT_STATES = PUBLISHABLE_STATES


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


def redact(text: str) -> str:
    """Text with every phone and ID number replaced by ``［已隐去］``."""
    return PRIVATE_NUMBER.sub(REDACTED, text or "")


def public_html(text: str) -> str:
    """Staff-typed Markdown as safe HTML, with private numbers removed first."""
    return render_markdown(redact(text))


def public_text(text: str) -> str:
    """Staff- or donor-typed text as plain text (no markup at all), private numbers removed."""
    return redact(plain(text)).strip()


def federation(area_name: str, level: int) -> str:
    """The charity federation of an area: 中华慈善总会 at the top, ``X慈善总会`` below."""
    return "中华慈善总会" if level == 0 else f"{area_name}慈善总会"


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
