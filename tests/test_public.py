"""What the public may see (db/public.py): phone and ID numbers redacted from free text, donors shown only
as they consented, staff Markdown sanitized, and ledger notes that carry transaction numbers withheld.

These are pure functions: no database is needed.
"""
from __future__ import annotations

import html
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from db.public import ANONYMOUS, REDACTED, donor_label, entry_note, public_html, public_text, redact

MOBILE_RUN = re.compile(r"1[3-9]\d{9}")


def visible_text(fragment: str) -> str:
    """What a browser would show of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


# -- redact ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "13812345678",
    "138 1234 5678",
    "138-1234-5678",
    "+86 138-1234-5678",
    "+8613812345678",
    "86-13812345678",
    "19912345678",
])
def test_mobile_numbers_are_removed(number):
    for text in (number, f"联系人王建国，手机 {number}。", f"电话{number}联系", f"({number})"):
        out = redact(text)
        assert REDACTED in out, text
        assert "1234" not in out and "5678" not in out, (text, out)


@pytest.mark.parametrize("number", ["0471-1234567", "(0471)1234567", "0471 12345678", "010-12345678",
                                    "04711234567", "（村委会）0471-6543210"])
def test_landlines_with_an_area_code_are_removed(number):
    for text in (number, f"办公电话{number}转8"):
        out = redact(text)
        assert REDACTED in out, text
        assert not re.search(r"\d{7}", out), (text, out)


@pytest.mark.parametrize("number", ["15010219900307123X", "15010219900307123x", "110105194912310021"])
def test_resident_id_numbers_are_removed_including_a_final_x(number):
    for text in (number, f"身份证号{number}已核验", f"负责人 {number} 。"):
        out = redact(text)
        assert REDACTED in out, text
        assert number not in out and number[:6] not in out and number[-4:] not in out, (text, out)


def test_numbers_glued_to_chinese_text_are_removed():
    assert redact("电话13812345678联系") == f"电话{REDACTED}联系"
    assert redact("身份证15010219900307123X号") == f"身份证{REDACTED}号"
    assert redact("座机0471-1234567转") == f"座机{REDACTED}转"


def test_several_numbers_in_one_text_are_all_removed():
    text = "王建国13812345678，李秀英 139 8765 4321；村委会(0471)1234567；身份证110105194912310021。"
    out = redact(text)
    assert out.count(REDACTED) == 4
    assert not re.search(r"\d{4}", out), out
    assert out.startswith("王建国") and "李秀英" in out and out.endswith("。")


@pytest.mark.parametrize("text", [
    "已筹善款 1,234.56 元",
    "金额 12345.67 元，配捐 100000 元",
    "2024-05-01",
    "2024年5月1日至2024-08-31",
    "凭证号 PZ2024-5713",
    "PZ2024-5713",
    "20260101001",
    "凭证 20260101001 号",
    "150102001001",
    "村社代码150102001001",
    "交易号 T00000001",
    "路灯 60 盏，常住 320 户",
    "",
])
def test_amounts_dates_voucher_numbers_and_area_codes_are_left_alone(text):
    assert redact(text) == text


def test_redact_accepts_none():
    assert redact(None) == ""


# The honest property. A phone number is recognised only when it stands apart from other
# letters and digits: ``(?<![0-9A-Za-z])`` … ``(?![0-9A-Za-z])`` is deliberate, so that voucher numbers
# such as PZ13812345678 and longer digit strings (amounts, 12-digit area codes) survive. So the claim
# is about runs of ASCII digits whose neighbours are neither ASCII digits nor ASCII letters; the
# generated alphabet has no other kinds of digit (full-width numbers have their own test below).
DIGITS = "0123456789"
GLUE_FREE = st.sampled_from(list(" -+()（）：:，。、\n\t电话联系手机号王村社元"))
CHUNK = st.one_of(
    st.text(alphabet=DIGITS, min_size=1, max_size=20),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"(\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}", fullmatch=True),
    st.from_regex(r"\(?0[0-9]{2,3}\)?[- ]?[0-9]{7,8}", fullmatch=True),
    st.text(alphabet="PZTXxab", min_size=1, max_size=3),
    GLUE_FREE,
)
TEXT = st.lists(CHUNK, max_size=12).map("".join)


def surviving_mobile_runs(text: str) -> list[str]:
    """Runs of exactly 11 ASCII digits starting with 1[3-9] whose neighbours are not ASCII letters or digits."""
    return [m.group() for m in re.finditer(r"(?<![0-9A-Za-z])[0-9]{11}(?![0-9A-Za-z])", text)
            if MOBILE_RUN.fullmatch(m.group())]


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example("电话13812345678联系")
@example("0471 13812345678")
@example("139 13812345678")
@example("13812345678-13912345678")
@example("(010)13812345678")
def test_property_no_free_standing_mobile_number_survives_redact(text):
    """For any text over ASCII digits, a few ASCII letters and non-alphanumeric characters (CJK,
    spaces, ``-+()``, punctuation): ``redact(text)`` contains no run of exactly 11 ASCII digits that
    starts with 1[3-9] and is bounded on both sides by something other than an ASCII digit or letter."""
    assert surviving_mobile_runs(redact(text)) == []


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_property_redact_is_idempotent_and_keeps_text_without_digits(text):
    """For the same texts: ``redact`` is idempotent (what it leaves, it would leave again), and text
    with no digit at all comes back unchanged."""
    once = redact(text)
    assert redact(once) == once
    no_digits = re.sub(r"\d", "", text)
    assert redact(no_digits) == no_digits


@pytest.mark.parametrize("text", ["手机13812345678(0471)1234567", "房间302(0471)1234567"])
def test_a_parenthesised_landline_right_after_a_digit_is_removed(text):
    assert "1234567" not in redact(text)


def test_full_width_phone_numbers_are_removed():
    assert "５６７８" not in redact("联系电话：１３８１２３４５６７８")


# -- donor_label --------------------------------------------------------------------------------------

def test_donor_without_consent_is_anonymous():
    assert donor_label("张三丰", "none") == ANONYMOUS == "爱心人士"


@pytest.mark.parametrize("name", ["张三丰", "张三", "张", "欧阳娜娜", "巴特尔", "Alice"])
def test_masked_consent_shows_the_surname_and_asterisks_never_the_full_name(name):
    label = donor_label(name, "masked")
    assert label != name
    assert label[0] == name[0]
    assert set(label[1:]) == {"*"} and len(label) >= 2
    assert name[1:] == "" or name[1:] not in label


def test_full_consent_shows_the_name():
    assert donor_label("张三丰", "full") == "张三丰"
    assert donor_label("  内蒙古某某建材有限公司 ", "full") == "内蒙古某某建材有限公司"


@pytest.mark.parametrize("consent", ["none", "masked", "full"])
@pytest.mark.parametrize("name", ["", "   ", None])
def test_empty_name_is_anonymous(name, consent):
    assert donor_label(name, consent) == ANONYMOUS


@pytest.mark.parametrize("consent", ["none", "masked", "full"])
@pytest.mark.parametrize("name", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "0471-1234567",
                                  "15010219900307123X", "张三13812345678"])
def test_a_name_that_is_a_phone_or_id_number_is_anonymous(name, consent):
    assert donor_label(name, consent) == ANONYMOUS


def test_unknown_consent_value_is_treated_as_none():
    assert donor_label("张三丰", "") == ANONYMOUS
    assert donor_label("张三丰", "yes") == ANONYMOUS


# -- public_html / public_text -----------------------------------------------------------------------

@pytest.mark.parametrize("markup, forbidden", [
    ("<script>alert(1)</script>正文", ["<script", "alert(1)"]),
    ("<img src=x onerror=alert(1)>", ["<img", "onerror", "alert"]),
    ('<a href="https://example.org/" onclick="steal()">链接</a>', ["onclick", "steal"]),
    ('<p onclick="x()">段落</p>', ["onclick"]),
    ('<a href="javascript:alert(1)">点我</a>', ["javascript:", "alert"]),
    ("[点我](javascript:alert(1))", ["javascript:"]),
    ('<iframe src="https://example.org/"></iframe>', ["<iframe", "example.org"]),
    ("![图片](https://example.org/a.png)", ["<img", "a.png"]),
    ('<svg onload="alert(1)"></svg>', ["<svg", "onload"]),
])
def test_public_html_strips_dangerous_markup(markup, forbidden):
    out = public_html(markup)
    for bad in forbidden:
        assert bad not in out.lower(), (markup, out)


def test_public_html_keeps_ordinary_markdown():
    out = public_html("**经村民代表大会表决通过**\n\n- 路灯 60 盏\n- 金额 12,345.67 元\n\n[详情](https://example.org/x)")
    assert "<strong>经村民代表大会表决通过</strong>" in out
    assert "<li>路灯 60 盏</li>" in out and "12,345.67" in out
    assert 'href="https://example.org/x"' in out


def test_public_html_removes_a_phone_number_inside_markdown():
    out = public_html("## 联系方式\n\n**负责人 王建国 13812345678**，座机 (0471)1234567。\n\n- 身份证 15010219900307123X")
    assert "王建国" in out and REDACTED in out
    assert not re.search(r"\d{7}", visible_text(out)), out


@pytest.mark.parametrize("markup", ["138<span>1234</span>5678", "138<!-- -->12345678", "&#49;3812345678"])
def test_public_html_shows_no_phone_number_rejoined_by_the_sanitizer(markup):
    assert not MOBILE_RUN.search(visible_text(public_html(markup)))


@pytest.mark.parametrize("markup", [
    "<script>alert(1)</script>路灯",
    '<b onclick="x()">路灯</b>',
    '<a href="javascript:alert(1)">路灯</a>',
    "<iframe src=x></iframe>路灯",
    '<img src=x onerror=alert(1)>路灯',
    "<p>路<em>灯</em></p>",
])
def test_public_text_has_no_tags_at_all(markup):
    out = public_text(markup)
    assert "<" not in out and ">" not in out, out
    assert "alert" not in out and "onclick" not in out
    assert out.replace(" ", "") == "路灯"


def test_public_text_removes_numbers_also_when_split_by_tags():
    assert public_text("电话 138<b>1234</b>5678") == f"电话 {REDACTED}"
    assert public_text("  13812345678  ") == REDACTED


def test_public_text_is_plain_text_not_html_escaped():
    assert public_text("加油&努力") == "加油&努力"


# -- entry_note ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["donation", "refund"])
def test_donation_and_refund_notes_are_withheld(kind):
    memo, reason = entry_note(kind, "平台交易号 T20240401000123 张三丰", "交易号 T20240401000123 退款")
    assert "T2024" not in memo + reason and "张三丰" not in memo + reason
    assert memo == ""
    assert reason == "捐赠退款或冲正"
    assert entry_note(kind, "T1", "") == ("", "")


@pytest.mark.parametrize("kind", ["pool_funding", "matching", "reward", "disbursement", "expenditure", "to_fund"])
def test_other_notes_are_kept_redacted_and_plain(kind):
    memo, reason = entry_note(kind, "逐级拨付至村社项目账户", "更正金额")
    assert memo == "逐级拨付至村社项目账户" and reason == "更正金额"
    memo, reason = entry_note(kind, "联系 13812345678 <b>核对</b>", "<script>x()</script>录入错误")
    assert memo == f"联系 {REDACTED} 核对" and reason == "录入错误"


# -- disguised numbers (issue 12, item 2) -------------------------------------------------------------

def _luhn_complete(body: str) -> str:
    for last in "0123456789":
        digits = body + last
        total = sum((int(d) * 2 - 9 if int(d) * 2 > 9 else int(d) * 2) if k % 2 else int(d)
                    for k, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError


MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
IDS = st.builds(lambda area, year, month, day, seq, check: f"{area}{year}{month:02d}{day:02d}{seq}{check}",
                st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), st.integers(1930, 2020), st.integers(1, 12),
                st.integers(1, 28), st.from_regex(r"[0-9]{3}", fullmatch=True), st.sampled_from("0123456789X"))
CARDS = st.builds(_luhn_complete, st.from_regex(r"62[0-9]{13,16}", fullmatch=True))
LANDLINES = st.builds(lambda area, number: area + number, st.sampled_from(["0471", "0472", "010", "0477"]),
                      st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
FULL = {str(i): chr(0xFF10 + i) for i in range(10)} | {"X": "Ｘ"}
MONGOLIAN = {str(i): chr(0x1810 + i) for i in range(10)}


SEPARATORS = [" ", ".", "-"]
ZERO_WIDTH = ["\u200b", "\u2060", "\ufeff"]


@st.composite
def disguised(draw, numbers, splits=None):
    """A number as people type it into a form: a space, dot or hyphen between any digits of a mobile or
    ID number (where ``splits`` says for cards — every 4 digits — and landlines — after the area code),
    zero-width characters anywhere, full-width or Mongolian digits, QQ/TEL glued in front."""
    number = draw(numbers)
    cuts = splits(number) if splits else None
    sep, grouped = draw(st.sampled_from(SEPARATORS)), draw(st.booleans())
    out = []
    for k, digit in enumerate(number):
        if k and (cuts is None and draw(st.integers(0, 5)) == 0):
            out.append(draw(st.sampled_from(SEPARATORS)))
        elif k and cuts is not None and k in cuts and grouped:
            out.append(sep)
        if k and draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from(ZERO_WIDTH)))
        script = draw(st.sampled_from(["ascii", "ascii", "full", "mongolian"]))
        out.append(FULL.get(digit, digit) if script == "full" else MONGOLIAN.get(digit, digit)
                   if script == "mongolian" else digit)
    prefix = draw(st.sampled_from(["", "QQ", "TEL", "电话", "手机：", "微信 ", "卡号", "身份证"]))
    return number, prefix + "".join(out)


def _digits_of(text: str) -> str:
    from db.public import _twin

    return re.sub(r"[^0-9Xx]", "", _twin(text)[0])


CHINESE = st.text(alphabet="村社捐赠善款项目路灯安装，。、：王李张", max_size=8)


@settings(max_examples=500, deadline=None)
@given(CHINESE, st.one_of(disguised(MOBILES), disguised(IDS), disguised(CARDS, lambda n: set(range(4, len(n), 4))),
                          disguised(LANDLINES, lambda n: {3 if n.startswith("010") else 4})), CHINESE)
@example("供应商 ", ("13812345678", "电话13812345678"), " 身份证")
@example("", ("110101199003071234", "1101 0119 9003 0712 34"), "")
@example("", ("13812345678", "138.1234.5678"), "")
def test_property_no_disguised_private_number_survives(before, case, after):
    number, typed = case
    out = redact(before + typed + after)
    assert REDACTED in out
    assert number.upper() not in _digits_of(out).upper(), (typed, out)
    assert out.startswith(before[:1]) and out.endswith(after[-1:])


@pytest.mark.parametrize("text", ["村社代码150102001001，凭证 PZ2024-5713，金额 12,345.67 元，2024.05.01",
                                  "150121001001 150121001002", "项目编号 XF150121101007-01",
                                  "路灯 60 盏 13 米高", "6222021234567891"])  # not a valid card number
def test_codes_amounts_and_non_card_digit_groups_stay(text):
    assert redact(text) == text
