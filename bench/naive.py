"""The naive baseline of issue 5: the same pages as plain Markdown, built by one MkDocs run.

``python -m bench.naive --out DIR`` (with ``DATABASE_URL`` set) reads the snapshot the real build
reads, writes one ``village/<code>.md`` per village with plain Markdown pipe tables (project facts,
the latest 20 donations, the fund-flow entries, spending, disclosures), the area pages as tables of
links, and builds everything with the root ``mkdocs.yml`` (Material, search plugin on, villages not in
``nav``) through ``site_builder.theme.mkdocs``: the way one would build the site without the shells,
parallel workers and incremental reuse. Prints one JSON line with its counts and timings.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from peewee import chunked

from db import snapshot
from db.database import database, open_database
from db.models import Entry, Level
from db.money import format_fen
from site_builder.news import news_items
from site_builder.opendata import TABLES, region_file
from site_builder.theme import CONFIG, CONTENT, mkdocs
from site_builder.villages import CHUNK


def cell(value) -> str:
    """Text in a pipe-table cell: one line, pipes escaped."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or "—"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def yuan(fen: int) -> str:
    return format_fen(fen)


def day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def front(title: str, description: str = "") -> str:
    return (f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
            f"description: {json.dumps(description, ensure_ascii=False)}\n---\n\n")


def village_markdown(village, details, places) -> str:
    prefecture, county, township = (places[i] for i in (village.prefecture_id, village.county_id, village.township_id))
    parts = [front(village.name, f"{prefecture.name}{county.name}{township.name}{village.name}的“幸福家园”互助基金项目公示"),
             f"# {cell(village.name)}\n",
             f"{cell(prefecture.name)} · {cell(county.name)} · {cell(township.name)}\n",
             f"[返回{cell(county.name)}](../area/{county.code}.md)\n",
             table(["项目", "内容"], [["村社类型", village.kind], ["批次", village.batch],
                                     ["互助基金设立", day(village.fund_established_on)],
                                     ["村社负责人", village.leader_name], ["志愿者", f"{details.volunteers} 人"],
                                     ["更新于", details.updated_at]]) + "\n"]
    for project in village.projects:
        t = project.totals
        parts.append(f"## 项目：{cell(project.name)}\n")
        parts.append(table(["项目", "内容"], [
            ["项目编号", project.code], ["状态", project.state_label], ["募集目标", yuan(project.target)],
            ["已筹善款", yuan(t.raised)], ["募集期限", f"{day(project.starts_on)} 至 {day(project.ends_on)}"],
            ["已拨付到村", yuan(t.disbursed)], ["配捐", yuan(t.matched)], ["以奖代补", yuan(t.rewarded)],
            ["已支出", yuan(t.spent)], ["项目结余", yuan(t.balance)], ["转入互助基金", yuan(t.to_fund)]]) + "\n")
        donations = details.on_page(project.id)
        parts.append(f"### 最新捐赠（共 {details.count_for(project.id)} 笔）\n")
        parts.append(table(["日期", "捐赠人", "金额", "渠道", "留言"],
                           [[day(d.on), d.donor + ("（已退回）" if d.returned else ""), yuan(d.amount), d.channel,
                             d.message] for d in donations]) + "\n")
    parts.append("## 资金流向\n")
    parts.append(table(["日期", "类型", "转出", "转入", "金额", "说明"],
                       [[day(e.booked_on), Entry.KINDS.get(e.kind, e.kind) + ("（冲正）" if e.reverses else ""),
                         e.source, e.target, yuan(e.amount), e.memo or e.reason] for e in details.entries]) + "\n")
    parts.append("## 支出\n")
    parts.append(table(["日期", "事项", "收款方", "金额", "凭证号"],
                       [[day(s.spent_on), s.item + ("（已冲正）" if s.reversed else ""), s.payee, yuan(s.amount),
                         s.voucher_no] for s in details.spending]) + "\n")
    if details.disclosures:
        parts.append("## 公示\n")
        parts.append(table(["日期", "标题", "更正说明"],
                           [[day(d.published_on), d.title, d.correction_note] for d in details.disclosures]) + "\n")
    return "\n".join(parts)


def area_pages(snap) -> dict[str, str]:
    """``area/index.md`` (the 盟市) and one page per 盟市 and 旗县市区: tables of links."""
    places = snap.places
    by_county: dict[int, list] = {}
    for v in snap.villages:
        by_county.setdefault(v.county_id, []).append(v)
    prefectures = sorted((p for p in places.values() if p.level == Level.PREFECTURE), key=lambda p: p.code)
    by_prefecture: dict[int, int] = {}
    for v in snap.villages:
        by_prefecture[v.prefecture_id] = by_prefecture.get(v.prefecture_id, 0) + 1
    pages = {"area/index.md": front("各地公示") + "# 各地公示\n\n" + table(
        ["盟市", "村社"], [[f"[{cell(p.name)}]({p.code}.md)", by_prefecture.get(p.id, 0)] for p in prefectures]) + "\n"}
    for place in places.values():
        if place.level not in (Level.PREFECTURE, Level.COUNTY):
            continue
        counties = sorted((c for c in places.values() if c.level == Level.COUNTY and c.parent_id == place.id),
                          key=lambda c: c.code)
        body = [front(place.name), f"# {cell(place.name)}\n"]
        if counties:
            body.append(table(["旗县市区", "村社"], [[f"[{cell(c.name)}]({c.code}.md)", len(by_county.get(c.id, []))]
                                                 for c in counties]) + "\n")
        villages = by_county.get(place.id, [])
        if villages or not counties:
            body.append(table(["村社", "乡镇/街道", "已筹善款"],
                              [[f"[{cell(v.name)}](../village/{v.code}.md)", places[v.township_id].name,
                                yuan(v.totals.raised)] for v in villages]) + "\n")
        pages[f"area/{place.code}.md"] = "\n".join(body)
    return pages


def build(out: Path, base_url: str) -> dict:
    started = time.perf_counter()
    timings = {}
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".naive-", dir=out.parent))
    docs = stage / "docs"
    try:
        shutil.copytree(CONTENT, docs)
        pages = 0
        with snapshot.read() as snap:
            timings["snapshot"] = round(time.perf_counter() - started, 3)
            home = docs / "index.md"
            prefectures = sorted((p for p in snap.places.values() if p.level == Level.PREFECTURE), key=lambda p: p.code)
            home.write_text(home.read_text(encoding="utf-8").rstrip("\n") + "\n\n## 各盟市\n\n" + table(
                ["盟市"], [[f"[{cell(p.name)}](area/{p.code}.md)"] for p in prefectures]) + "\n", encoding="utf-8")
            (docs / "data").mkdir(exist_ok=True)
            (docs / "data" / "index.md").write_text(front("开放数据") + "# 开放数据\n\n" + table(
                ["数据", "文件"], [[title, f"data/region/{region_file(name)}"] for name, (title, _) in TABLES.items()]) + "\n",
                encoding="utf-8")
            if not (docs / "news" / "index.md").exists():
                (docs / "news" / "index.md").write_text(front("信息简报") + "# 信息简报\n\n" + "".join(
                    f"- {day(n.date)} [{cell(n.title)}]({n.slug}.md)\n" for n in news_items(CONTENT)), encoding="utf-8")
            for name, text in area_pages(snap).items():
                (docs / name).parent.mkdir(parents=True, exist_ok=True)
                (docs / name).write_text(text, encoding="utf-8")
                pages += 1
            (docs / "village").mkdir(exist_ok=True)
            for chunk in chunked(snap.villages, CHUNK):
                details = snapshot.details(chunk)
                for village in chunk:
                    (docs / "village" / f"{village.code}.md").write_text(
                        village_markdown(village, details[village.id], snap.places), encoding="utf-8")
                    pages += 1
            villages = len(snap.villages)
        timings["markdown"] = round(time.perf_counter() - started - sum(timings.values()), 3)
        database.close()
        mkdocs(docs, out, base_url, CONFIG)
        timings["mkdocs"] = round(time.perf_counter() - started - sum(timings.values()), 3)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"villages": villages, "pages": pages, "seconds": round(time.perf_counter() - started, 3), "timings": timings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder (emptied by MkDocs)")
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"), help="database URL (default: DATABASE_URL)")
    parser.add_argument("--base-url", default=os.environ.get("XFJY_SITE_URL", "http://127.0.0.1:8000/"))
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("DATABASE_URL is not set")
    open_database(args.url)
    database.connect()
    result = build(args.out, args.base_url)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
