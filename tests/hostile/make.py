"""Writes the hostile-input corpus of tests/test_hostile.py: ``python -m tests.hostile.make``.

Each file is an import or an upload a careless or hostile user could send; ``cases.csv`` says what it
is for (``donations``, ``villages`` or ``upload``) and a phrase its refusal must contain. Every import
has good rows beside the bad one, so refusing it whole is what is tested. Deterministic: running it
again writes the same bytes (XLSX files are written with a fixed timestamp)."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
PROJECT, DRAFT = "XF-HOSTILE-01", "XF-HOSTILE-DRAFT"
HEADER = ["交易号", "项目编号", "捐赠人", "金额", "捐赠时间", "公开姓名", "留言"]
GOOD = [["H-GOOD-1", PROJECT, "张三", "100.00", "2024-04-01 10:00:00", "是", "祝好"],
        ["H-GOOD-2", PROJECT, "李四", "50", "2024-04-02 11:00:00", "否", ""]]
VILLAGE_HEADER = ["村社代码", "村社名称", "乡镇/街道代码", "乡镇/街道名称", "申报村居全称", "类别", "详细地址", "负责人",
                  "联系电话", "批次"]
GOOD_VILLAGE = ["150121900001", "新光村", "150121900", "测试镇", "", "村", "", "", "", "探索试点"]
FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def gift(**change) -> list[str]:
    row = dict(zip(HEADER, ["H-BAD-1", PROJECT, "王五", "10.00", "2024-04-03 09:00:00", "是", ""]))
    row.update(change)
    return [row[c] for c in HEADER]


def village(**change) -> list[str]:
    row = dict(zip(VILLAGE_HEADER, ["150121900002", "新民村", "150121900", "测试镇", "", "村", "", "", "", "探索试点"]))
    row.update(change)
    return [row[c] for c in VILLAGE_HEADER]


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _cell(ref: str, value: str) -> str:
    if value.startswith("="):
        return f'<c r="{ref}"><f>{value[1:]}</f></c>'
    text = value.replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx(rows, header=HEADER, sheet: bytes | None = None, extra: dict | None = None) -> bytes:
    """A minimal, valid XLSX (inline strings) of ``header`` + ``rows``."""
    if sheet is None:
        lines = []
        for n, row in enumerate([header, *rows], start=1):
            cells = "".join(_cell(f"{chr(65 + i)}{n}", str(v)) for i, v in enumerate(row))
            lines.append(f'<row r="{n}">{cells}</row>')
        sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats'
                 f'.org/spreadsheetml/2006/main"><sheetData>{"".join(lines)}</sheetData></worksheet>').encode()
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
        b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
        **(extra or {}),
    }
    return zipped(parts)


def png_header_only(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"

DONATIONS = {
    "empty.csv": (b"", "文件为空"),
    "header_only.csv": (csv_bytes([]), "没有数据行"),
    "missing_column.csv": (csv_bytes([r[:3] for r in GOOD], header=HEADER[:3]), "缺少必需的列"),
    "column_twice.csv": (csv_bytes([[*r, "999"] for r in GOOD], header=[*HEADER, "金额"]), "不止一次"),
    "formula.csv": (csv_bytes([*GOOD, gift(留言='=HYPERLINK("http://evil.example","点我")')]), "公式"),
    "formula_after_spaces.csv": (csv_bytes([*GOOD, gift(留言=" =1+1")]), "公式"),
    "formula_after_ideographic_space.csv": (csv_bytes([*GOOD, gift(捐赠人="\u3000=cmd|' /C calc'!A0")]), "公式"),
    "formula_in_amount.csv": (csv_bytes([*GOOD, gift(金额="=100")]), "公式"),
    "amount_full_width.csv": (csv_bytes([*GOOD, gift(金额="１００")]), "半角数字"),
    "amount_arabic_digits.csv": (csv_bytes([*GOOD, gift(金额="١٢٣")]), "半角数字"),
    "amount_mongolian_digits.csv": (csv_bytes([*GOOD, gift(金额="᠑᠒᠓")]), "半角数字"),
    "amount_inner_space.csv": (csv_bytes([*GOOD, gift(金额="1 000")]), "格式不正确"),
    "amount_three_decimals.csv": (csv_bytes([*GOOD, gift(金额="1.005")]), "两位小数"),
    "amount_negative.csv": (csv_bytes([*GOOD, gift(金额="-10")]), "负数"),
    "amount_zero.csv": (csv_bytes([*GOOD, gift(金额="0")]), "大于零"),
    "amount_exponent.csv": (csv_bytes([*GOOD, gift(金额="1e3")]), "格式不正确"),
    "amount_nan.csv": (csv_bytes([*GOOD, gift(金额="NaN")]), "格式不正确"),
    "amount_huge.csv": (csv_bytes([*GOOD, gift(金额="99999999999999")]), "过大"),
    "amount_empty.csv": (csv_bytes([*GOOD, gift(金额="")]), "金额为空"),
    "time_year_one.csv": (csv_bytes([*GOOD, gift(捐赠时间="0001-01-01 00:00:00")]), "早于 2000 年"),
    "time_future.csv": (csv_bytes([*GOOD, gift(捐赠时间="2099-01-01 00:00:00")]), "晚于今天"),
    "time_words.csv": (csv_bytes([*GOOD, gift(捐赠时间="昨天下午")]), "格式不正确"),
    "time_arabic_digits.csv": (csv_bytes([*GOOD, gift(捐赠时间="٢٠٢٤-٠٤-٠١")]), "半角数字"),
    "time_full_width.csv": (csv_bytes([*GOOD, gift(捐赠时间="２０２４-０４-０１")]), "半角数字"),
    "txn_empty.csv": (csv_bytes([*GOOD, gift(交易号="")]), "交易号不能为空"),
    "txn_too_long.csv": (csv_bytes([*GOOD, gift(交易号="T" * 65)]), "过长"),
    "txn_twice.csv": (csv_bytes([*GOOD, gift(交易号="H-GOOD-1")]), "重复"),
    "project_unknown.csv": (csv_bytes([*GOOD, gift(项目编号="XF-NO-SUCH")]), "不存在"),
    "project_draft.csv": (csv_bytes([*GOOD, gift(项目编号=DRAFT)]), "尚未发布募捐"),
    "consent_word.csv": (csv_bytes([*GOOD, gift(公开姓名="也许")]), "应填 是、否 或 部分"),
    "donor_too_long.csv": (csv_bytes([*GOOD, gift(捐赠人="王" * 65)]), "过长"),
    "message_too_long.csv": (csv_bytes([*GOOD, gift(留言="好" * 501)]), "过长"),
    "channel_word.csv": (csv_bytes([[*r, ""] for r in GOOD] + [[*gift(), "快递"]], header=[*HEADER, "渠道"]), "渠道"),
    "binary_nul.csv": (b"\xef\xbb\xbf" + "交易号,项目编号".encode() + b"\x00\x00\x00", "不是文本"),
    "not_an_encoding.csv": (b"\xff\xfe\xfd\xfc\x80\x81\x82", "无法识别文件编码"),
    "exe_named_csv.csv": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", "无法识别文件编码"),
    "text_named_txt.txt": (csv_bytes(GOOD), "不支持的文件类型"),
    "csv_named_xlsx.xlsx": (csv_bytes(GOOD), "不是有效的 XLSX"),
    "truncated.xlsx": (xlsx(GOOD)[:400], "已损坏"),
    "zip_without_workbook.xlsx": (zipped({"readme.txt": b"hello"}), "已损坏"),
    "xlsx_formula.xlsx": (xlsx([*GOOD, gift(金额="=SUM(1,2)")]), "公式"),
    "xlsx_full_width_amount.xlsx": (xlsx([*GOOD, gift(金额="１００")]), "半角数字"),
    "xlsx_column_twice.xlsx": (xlsx([[*r, "1"] for r in GOOD], header=[*HEADER, "交易号"]), "不止一次"),
    "xlsx_year_one.xlsx": (xlsx([*GOOD, gift(捐赠时间="0001-01-01 00:00:00")]), "早于 2000 年"),
    "xlsx_rows_bomb.xlsx": (xlsx([], sheet=(
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        b'main"><sheetData>' + b"".join(b'<row r="%d"/>' % n for n in range(1, 210_002)) + b"</sheetData></worksheet>")),
        "超过单次导入"),
    "xlsx_strings_bomb.xlsx": (xlsx(GOOD, extra={"xl/sharedStrings.xml": b'<sst><si><t>' + b"A" * (48 << 20)
                                                 + b"</t></si></sst>"}), "压缩比异常"),
}
VILLAGES = {
    "village_code_short.csv": (csv_bytes([GOOD_VILLAGE, village(村社代码="15012190000")], VILLAGE_HEADER), "12 位"),
    "village_code_letters.csv": (csv_bytes([GOOD_VILLAGE, village(村社代码="15012190000X")], VILLAGE_HEADER), "12 位"),
    "village_township_mismatch.csv": (csv_bytes([GOOD_VILLAGE, village(**{"乡镇/街道代码": "150121901"})],
                                                VILLAGE_HEADER), "前 9 位"),
    "village_county_unknown.csv": (csv_bytes([GOOD_VILLAGE, village(村社代码="159999900003",
                                                                    **{"乡镇/街道代码": "159999900"})], VILLAGE_HEADER),
                                   "旗县市区代码"),
    "village_kind.csv": (csv_bytes([GOOD_VILLAGE, village(类别="城堡")], VILLAGE_HEADER), "村、嘎查 或 社区"),
    "village_batch.csv": (csv_bytes([GOOD_VILLAGE, village(批次="明年")], VILLAGE_HEADER), "批次"),
    "village_phone.csv": (csv_bytes([GOOD_VILLAGE, village(联系电话="打村委会")], VILLAGE_HEADER), "电话号码格式"),
    "village_name_empty.csv": (csv_bytes([GOOD_VILLAGE, village(村社名称="")], VILLAGE_HEADER), "不能为空"),
    "village_code_twice.csv": (csv_bytes([GOOD_VILLAGE, village(村社代码="150121900001")], VILLAGE_HEADER), "重复"),
    "village_formula.csv": (csv_bytes([GOOD_VILLAGE, village(详细地址="=HYPERLINK(1)")], VILLAGE_HEADER), "公式"),
}
UPLOADS = {
    "empty.pdf": (b"", "为空"),
    "windows_program.pdf": (b"MZ\x90\x00" + b"\x00" * 60, "不是 PDF"),
    "web_page.pdf": (b"<html><script>alert(1)</script></html>", "不是 PDF"),
    "svg_with_script.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "不是 PDF"),
    "gif_picture.gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "不是 PDF"),
    "png_named_pdf.pdf": (png_header_only(10, 10), "扩展名"),
    "pdf_named_png.png": (PDF, "扩展名"),
    "pdf_named_jpg.jpg": (PDF, "扩展名"),
    "png_magic_only.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "图片无法识别"),
    "jpeg_magic_only.jpg": (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "图片无法识别"),
    "png_huge_canvas.png": (png_header_only(100_000, 100_000), "像素过多"),
    "jpeg_truncated.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb", "图片无法识别"),
}


def main(target: Path = HERE) -> None:
    rows = []
    for kind, cases in (("donations", DONATIONS), ("villages", VILLAGES), ("upload", UPLOADS)):
        folder = target / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name, (data, expected) in cases.items():
            (folder / name).write_bytes(data)
            rows.append([kind, name, expected])
    with open(target / "cases.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["kind", "file", "expected"], *rows])
    print(f"{len(rows)} hostile files written under {target}")


if __name__ == "__main__":
    main()
