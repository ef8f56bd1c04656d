"""核验项目审计包（幸福家园 村社互助工程）。只用 Python 自带的模块。

用法：在解压出的审计包目录中运行  python3 verify.py  （或  python3 verify.py 审计包目录）。
全部通过时退出码为 0；发现问题时逐条列出，退出码为 1。各项检查见同目录的 README.txt。

(``db.audit_pack`` copies this file into every pack as verify.py; it must import nothing but the
standard library. The hash is ``db.history.link_hash``, written again here.)
"""
import csv
import hashlib
import json
import sys
from pathlib import Path

GENESIS = "0" * 64
ATTACHED = ("receipts", "disclosures")


def canonical(body) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def link_hash(previous: str, text: str) -> str:
    return hashlib.sha256((previous + "\n" + text).encode("utf-8")).hexdigest()


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def table(folder: Path, name: str) -> list:
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def number(text: str):
    return int(text) if text.strip() else None


def check_files(folder: Path, problems: list) -> int:
    listed = set()
    rows = table(folder, "manifest.csv")
    for line, row in enumerate(rows, start=2):
        name = row["file"]
        if not name:
            problems.append(f"manifest.csv 第 {line} 行：附件 #{row['attachment_id']}（{row['original_filename']}）"
                            "在系统中找不到文件，未能放入审计包")
            continue
        listed.add(name)
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}：文件不存在（manifest.csv 第 {line} 行）")
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            problems.append(f"{name}：SHA-256 与 manifest.csv 不符（应为 {row['sha256']}，实为 {digest}），文件被改动过")
        elif str(len(data)) != row["bytes"]:
            problems.append(f"{name}：字节数 {len(data)} 与 manifest.csv 的 {row['bytes']} 不符")
    for sub in ATTACHED:
        for path in sorted((folder / sub).rglob("*")) if (folder / sub).is_dir() else []:
            name = path.relative_to(folder).as_posix()
            if path.is_file() and name not in listed:
                problems.append(f"{name}：不在 manifest.csv 中")
    return len(listed)


def check_history(folder: Path, problems: list) -> dict:
    links = {}
    previous_row = None
    for row in table(folder, "history.csv"):
        seq = int(row["seq"])
        where = f"history.csv 第 {seq} 条（{row['record']} #{row['record_id']}）"
        try:
            body = json.loads(row["body"])
        except ValueError:
            problems.append(f"{where}：body 不是 JSON")
            continue
        if canonical(body) != row["body"]:
            problems.append(f"{where}：body 不是规范 JSON（键的顺序、空格或转义被改动）")
        if body.get("type") != row["record"] or str(body.get("id")) != row["record_id"]:
            problems.append(f"{where}：body 中的记录类型或编号与本行不符")
        if seq == 1 and row["previous_hash"] != GENESIS:
            problems.append(f"{where}：第 1 条的前一哈希应为 64 个 0")
        if previous_row is not None and int(previous_row["seq"]) == seq - 1 and previous_row["hash"] != row["previous_hash"]:
            problems.append(f"{where}：previous_hash 与第 {seq - 1} 条的 hash 不相接")
        expected = link_hash(row["previous_hash"], row["body"])
        if expected != row["hash"]:
            problems.append(f"{where}：哈希与内容不符（按内容算得 {expected}，记载为 {row['hash']}），内容被改动过")
        links[(row["record"], row["record_id"])] = (seq, row["hash"], body)
        previous_row = row
    return links


def linked(file: str, label: str, row: dict, record: str, key: str, links: dict, used: set, problems: list):
    """The hashed body of this row's link, after checking the row names the same link; None if not linked."""
    if not row["chain_seq"]:
        return None
    link = links.get((record, row[key]))
    if link is None or str(link[0]) != row["chain_seq"]:
        problems.append(f"{file} {label}：公开历史第 {row['chain_seq']} 条不在 history.csv 中")
        return None
    used.add((record, row[key]))
    if link[1] != row["chain_hash"]:
        problems.append(f"{file} {label}：chain_hash 与 history.csv 第 {link[0]} 条的哈希不符")
    return link[2]


def check_entries(folder: Path, links: dict, used: set, problems: list) -> tuple:
    rows = table(folder, "entries.csv")
    unlinked = 0
    for row in rows:
        label = f"分录 #{row['entry_id']}"
        fen = int(row["amount_fen"])
        if yuan(fen) != row["amount_yuan"]:
            problems.append(f"entries.csv {label}：amount_yuan {row['amount_yuan']} 与 amount_fen {fen} 不符")
        body = linked("entries.csv", label, row, "entry", "entry_id", links, used, problems)
        if body is None:
            unlinked += not row["chain_seq"]
            continue
        seq = row["chain_seq"]
        if body.get("amount") != fen:
            problems.append(f"entries.csv {label}：金额 {yuan(fen)} 元与公开历史第 {seq} 条中哈希过的金额 "
                            f"{yuan(body.get('amount') or 0)} 元不符")
        if body.get("kind") != row["kind"]:
            problems.append(f"entries.csv {label}：业务类型 {row['kind']} 与公开历史第 {seq} 条的 {body.get('kind')} 不符")
        if body.get("booked_on") != row["booked_on"]:
            problems.append(f"entries.csv {label}：记账日期 {row['booked_on']} 与公开历史第 {seq} 条的 "
                            f"{body.get('booked_on')} 不符")
        if body.get("reverses") != number(row["reverses"]):
            problems.append(f"entries.csv {label}：冲正关系与公开历史第 {seq} 条不符")
        if (body.get("from") or [None])[0] != row["from_kind"] or (body.get("to") or [None])[0] != row["to_kind"]:
            problems.append(f"entries.csv {label}：转出或转入账户类别与公开历史第 {seq} 条不符")
    return rows, unlinked


def check_disclosures(folder: Path, links: dict, used: set, problems: list) -> int:
    rows = table(folder, "disclosures.csv")
    for row in rows:
        label = f"公示 #{row['disclosure_id']}"
        body = linked("disclosures.csv", label, row, "disclosure", "disclosure_id", links, used, problems)
        if body is None:
            continue
        if body.get("published_on") != row["published_on"] or body.get("corrects") != number(row["corrects"]):
            problems.append(f"disclosures.csv {label}：公示日期或更正关系与公开历史第 {row['chain_seq']} 条不符")
    return len(rows)


def check_money(folder: Path, entries: list, problems: list) -> tuple:
    gifts, spent = {}, {}
    for row in entries:
        if row["reverses"]:
            continue
        if row["kind"] == "donation" and row["donation_txn"]:
            gifts[row["donation_txn"]] = int(row["amount_fen"])
        if row["kind"] == "expenditure" and row["expenditure_id"]:
            spent[row["expenditure_id"]] = int(row["amount_fen"])
    donations = table(folder, "donations.csv")
    for row in donations:
        label = f"捐赠 {row['txn_no']}"
        fen = int(row["amount_fen"])
        if yuan(fen) != row["amount_yuan"]:
            problems.append(f"donations.csv {label}：amount_yuan {row['amount_yuan']} 与 amount_fen {fen} 不符")
        if row["txn_no"] not in gifts:
            problems.append(f"donations.csv {label}：entries.csv 中没有它的入账分录")
        elif gifts[row["txn_no"]] != fen:
            problems.append(f"donations.csv {label}：金额 {yuan(fen)} 元与入账分录的 {yuan(gifts[row['txn_no']])} 元不符")
    listed = {row["file"] for row in table(folder, "manifest.csv")}
    lines = table(folder, "spending.csv")
    for row in lines:
        label = f"支出 #{row['line_id']}"
        fen = int(row["amount_fen"])
        if yuan(fen) != row["amount_yuan"]:
            problems.append(f"spending.csv {label}：amount_yuan {row['amount_yuan']} 与 amount_fen {fen} 不符")
        if row["line_id"] not in spent:
            problems.append(f"spending.csv {label}：entries.csv 中没有它的支出分录")
        elif spent[row["line_id"]] != fen:
            problems.append(f"spending.csv {label}：金额 {yuan(fen)} 元与支出分录的 {yuan(spent[row['line_id']])} 元不符")
        for name in row["receipts"].split():
            if name not in listed:
                problems.append(f"spending.csv {label}：票据 {name} 不在 manifest.csv 中")
    return len(donations), len(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    problems = []
    try:
        files = check_files(folder, problems)
        links = check_history(folder, problems)
        used = set()
        entries, unlinked = check_entries(folder, links, used, problems)
        versions = check_disclosures(folder, links, used, problems)
        donations, lines = check_money(folder, entries, problems)
    except (OSError, KeyError, ValueError) as exc:
        print(f"无法读取审计包（{folder}）：{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for record, record_id in sorted(set(links) - used):
        kind = {"entry": "分录", "disclosure": "公示"}.get(record, record)
        problems.append(f"history.csv 中的{kind} #{record_id} 在 entries.csv 或 disclosures.csv 中没有对应行")
    if problems:
        for problem in problems:
            print(f"不符：{problem}", file=sys.stderr)
        print(f"核验未通过：发现 {len(problems)} 处问题", file=sys.stderr)
        return 1
    print(f"核验通过：{files} 个票据/附件文件、公开历史 {len(links)} 条、分录 {len(entries)} 条、捐赠 {donations} 笔、"
          f"支出 {lines} 笔、公示 {versions} 版均一致")
    if unlinked:
        print(f"注意：有 {unlinked} 条分录尚未链入公开历史（下次发布网站时链入），未能核对其哈希")
    return 0


if __name__ == "__main__":
    sys.exit(main())
