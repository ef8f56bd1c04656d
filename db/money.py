"""Money is integer fen. Parsing is strict: anything not exactly representable is refused."""
from __future__ import annotations

import re

from .errors import MoneyError

MAX_FEN = 10**12  # 100 亿元: above any real gift or budget, far below BIGINT
_GROUPED = r"[0-9]{1,3}(?:,[0-9]{3})+"
_PLAIN = r"[0-9]+"
_AMOUNT = re.compile(
    rf"^(?P<sign>-)?\s*[¥￥]?\s*(?P<sign2>-)?(?P<int>{_GROUPED}|{_PLAIN})(?:\.(?P<frac>[0-9]+))?\s*(?:元)?$"
)
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit of another script (１, ١, ᠑)


def parse_fen(value: object, *, allow_negative: bool = False, allow_zero: bool = True) -> int:
    """Turn ``"1,234.56"``, ``"¥1234.5"``, ``"1234"`` or an ``int`` of yuan into fen.

    Floats are refused outright: a binary float is not an amount of money.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"金额「{value}」不是精确的数字，请以文本填写，如 1234.56")
    if isinstance(value, int):
        fen = value * 100
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("金额为空")
        if _OTHER_DIGIT.search(text):
            raise MoneyError(f"金额「{value}」含全角或其他文字的数字，请用半角数字 0-9 填写")
        match = _AMOUNT.match(text)
        if not match or (match["sign"] and match["sign2"]):
            raise MoneyError(f"金额「{value}」格式不正确，应为如 1234.56 或 1,234.56 的数字（中间不能有空格）")
        frac = match["frac"] or ""
        if len(frac) > 2:
            raise MoneyError(f"金额「{value}」超过两位小数（最小单位为分）")
        fen = int(match["int"].replace(",", "")) * 100 + int(frac.ljust(2, "0"))
        if match["sign"] or match["sign2"]:
            fen = -fen
    else:
        raise MoneyError(f"金额「{value}」类型不正确")
    if abs(fen) > MAX_FEN:
        raise MoneyError(f"金额「{value}」过大（上限 {MAX_FEN // 100:,} 元）")
    if fen < 0 and not allow_negative:
        raise MoneyError(f"金额「{value}」不能为负数")
    if fen == 0 and not allow_zero:
        raise MoneyError("金额必须大于零")
    return fen


def format_fen(fen: int, *, unit: bool = True) -> str:
    """``123456`` → ``"1,234.56 元"``."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    text = f"{sign}{yuan:,}.{cents:02d}"
    return f"{text} 元" if unit else text


def fen_to_text(fen: int) -> str:
    """Plain decimal yuan without grouping, for CSV and JSON: ``123456`` → ``"1234.56"``."""
    return format_fen(fen, unit=False).replace(",", "")
