"""What the public may see (慈善法 art. 82, 个人信息保护法): the one place that decides it.

The public site and its open data show donors only as they consented, never a phone or ID number
(even one typed into a free-text field), and turn staff-typed text into HTML only after sanitizing.
"""
from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

from .money import format_fen
from .names import masked
from .text import plain, render_markdown

ANONYMOUS = "爱心人士"
REDACTED = "［已隐去］"

# Resident ID (18 digits, last may be X), mainland mobile, landline with area code, bank card. Text is
# matched in a normalised twin (NFKC, any decimal digit as ASCII, zero-width characters dropped), so a
# number typed full-width, in Mongolian digits or with a zero-width space inside is seen as what it is;
# groups may be split by a space, dot or hyphen. A number glued to other digits is left alone, so that
# amounts, dates, area and voucher codes survive; letters do not protect it (QQ13812345678, TEL…).
_ID_NUMBER = re.compile(r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
_SEP = r"[ .\-]"
_MOBILE = rf"(?:\+?86{_SEP}?)?1{_SEP}?[3-9](?:{_SEP}?\d){{9}}"
_LANDLINE = rf"0\d{{2,3}}{_SEP}?(?:\d{{7,8}}|\d{{3,4}}{_SEP}\d{{4}})"
_BRACKETED_LANDLINE = rf"\(0\d{{2,3}}\){_SEP}?\d{{7,8}}"  # the bracket already separates it from what precedes
PRIVATE_NUMBER = re.compile(rf"(?:(?<!\d)(?:{_MOBILE}|{_LANDLINE})|{_BRACKETED_LANDLINE})(?!\d)")
# 16 to 19 digits (an ID number, a bank card), maybe in groups: kept only if they are not one (see _long)
LONG_NUMBER = re.compile(rf"(?<!\d)[1-9](?:{_SEP}?\d){{14,17}}{_SEP}?[\dXx](?![\dXx])")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u180e")


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


_DIGIT = re.compile(r"\d")  # any decimal digit, of any script


_FOLD = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {0x3000: " "} | {
    c: str(unicodedata.decimal(chr(c))) for c in range(0x110000) if chr(c).isdecimal() and c > 0x7F}


def _twin(text: str) -> tuple[str, list[int] | None]:
    """The text as matched (see above) and, for each of its characters, where it came from (None: the
    same place; only dropping a zero-width character shifts them)."""
    twin = text.translate(_FOLD)
    if _ZERO_WIDTH.isdisjoint(text):
        return twin, None
    kept = [i for i, c in enumerate(twin) if c not in _ZERO_WIDTH]
    return "".join(twin[i] for i in kept), kept


def _is_long_private(number: str) -> bool:
    digits = re.sub(_SEP, "", number)
    if len(digits) == 18 and _ID_NUMBER.fullmatch(digits):
        return True
    if not digits.isdigit() or not 16 <= len(digits) <= 19 or not _luhn(digits):
        return False
    groups = re.split(_SEP, number)
    return len(groups) == 1 or all(len(g) == 4 for g in groups[:-1])  # as printed on a card: 4-digit groups


def _luhn(digits: str) -> bool:
    total = 0
    for k, d in enumerate(reversed(digits)):
        n = int(d) * (2 if k % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def redact(text: str) -> str:
    """Text with every phone, ID and bank card number replaced by ``［已隐去］``."""
    text = text or ""
    if _DIGIT.search(text) is None:
        return text
    twin, where = _twin(text)
    spans = [m.span() for m in LONG_NUMBER.finditer(twin) if _is_long_private(m.group())]
    for m in PRIVATE_NUMBER.finditer(twin):
        if not any(a < m.end() and m.start() < b for a, b in spans):
            spans.append(m.span())
    if not spans:
        return text
    parts, end = [], 0
    for start, stop in sorted(spans):
        first, last = (start, stop) if where is None else (where[start], where[stop - 1] + 1)
        parts += [text[end:first], REDACTED]
        end = last
    return "".join(parts) + text[end:]


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
