import pytest

from db.errors import MoneyError
from db.money import fen_to_text, format_fen, parse_fen


@pytest.mark.parametrize(
    "text, fen",
    [
        ("1,234.56", 123456),
        ("¥1234.5", 123450),
        ("￥1234.5", 123450),
        ("1234", 123400),
        ("0.01", 1),
        ("  88.80  ", 8880),
        ("1,234,567.00", 123456700),
        ("1,234.56 元", 123456),
        ("12元", 1200),
        (1234, 123400),
    ],
)
def test_parses_exact_fen(text, fen):
    assert parse_fen(text) == fen


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("12.345", "两位小数"),
        ("-5", "负数"),
        ("NaN", "格式"),
        ("nan", "格式"),
        ("inf", "格式"),
        ("1e3", "格式"),
        ("1E3", "格式"),
        ("12,34", "格式"),
        ("1,2345.00", "格式"),
        ("", "为空"),
        ("十元", "格式"),
        ("1.2.3", "格式"),
        ("0x10", "格式"),
        ("--5", "格式"),
        (12.5, "精确"),
        (0.1, "精确"),
        (float("nan"), "精确"),
        (True, "精确"),
        (None, "类型"),
    ],
)
def test_refuses_inexact_or_malformed(bad, reason):
    with pytest.raises(MoneyError, match=reason):
        parse_fen(bad)


def test_negative_only_where_allowed():
    assert parse_fen("-12.30", allow_negative=True) == -1230
    assert parse_fen("¥-12.30", allow_negative=True) == -1230


def test_zero_refused_where_an_amount_is_required():
    assert parse_fen("0") == 0
    with pytest.raises(MoneyError, match="大于零"):
        parse_fen("0.00", allow_zero=False)


@pytest.mark.parametrize("fen, text", [(123456, "1,234.56 元"), (5, "0.05 元"), (0, "0.00 元"), (-150, "-1.50 元"),
                                       (100000000, "1,000,000.00 元")])
def test_formats_yuan(fen, text):
    assert format_fen(fen) == text


@pytest.mark.parametrize("fen", [0, 1, 99, 100, 123456, 987654321, 10**12])
def test_format_round_trips_through_parse(fen):
    assert parse_fen(format_fen(fen)) == fen
    assert parse_fen(fen_to_text(fen)) == fen


def test_amounts_beyond_any_real_gift_are_refused_before_they_overflow_the_column():
    with pytest.raises(MoneyError, match="过大"):
        parse_fen("10,000,000,000.01")
    with pytest.raises(MoneyError, match="过大"):
        parse_fen("99999999999999999999")
