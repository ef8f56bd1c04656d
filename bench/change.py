"""The "1 % of villages changed" step of issue 5, as one committed transaction.

``python -m bench.change [--fraction 0.01] [--seed 5]`` (with ``DATABASE_URL`` set) picks that share of
the villages that have a public project (at least 3) and, for a third each:

- adds a donation (``Donation.create`` + ``donations.receive_donation``) to a project that is fundraising
  or has reached its target;
- adds a spending line (``spending.record_expenditure``) to a project being implemented or accepted
  whose balance covers it (falling back to a donation when there are not enough such projects);
- edits a project's summary and sets ``updated_at`` (``Project.update``).

Prints one JSON line: how many villages of each kind were changed, and their codes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

from db import donations, spending
from db.clock import now, today
from db.database import database, open_database, write_transaction
from db.models import Area, Donation, Project, Village
from db.totals import project_totals
from db.workflow import PUBLISHED_STATES, RECEIVING_STATES, SPENDING_STATES

SPEND = 10_000  # 100.00 元


def public_projects() -> dict[int, list[Project]]:
    """Village id → its public projects, for villages with a 互助基金 (the ones that have a page)."""
    query = (Project.select().join(Village).where(
        Project.state.in_(PUBLISHED_STATES) & Village.fund_established_on.is_null(False)).order_by(Project.id))
    villages: dict[int, list[Project]] = {}
    for project in query:
        villages.setdefault(project.village_id, []).append(project)
    return villages


def change(fraction: float, seed: int) -> dict:
    rng = random.Random(seed)
    villages = public_projects()
    count = max(3, round(len(villages) * fraction))
    order = sorted(villages)
    rng.shuffle(order)
    share = count // 3
    wanted = {"donation": share, "spending": share, "edit": count - 2 * share}
    chosen: dict[str, list[int]] = {"donation": [], "spending": [], "edit": []}
    used: set[int] = set()
    stamp = now()
    result = {"villages_with_public_project": len(villages), "changed": count, "donation": 0, "spending": 0,
              "spending_fell_back_to_donation": 0, "edit": 0, "codes": []}

    def receiving(vid):
        return next((p for p in villages[vid] if p.state in RECEIVING_STATES), None)

    def spendable(vid):
        for p in villages[vid]:
            if p.state in SPENDING_STATES and project_totals(p).balance >= SPEND:
                return p
        return None

    def donate(project: Project, index: int) -> None:
        donation = Donation.create(project=project, txn_no=f"BENCH-CHG-{stamp:%Y%m%d%H%M%S}-{index:05d}",
                                   donor_name="基准测试捐赠人", name_consent="full", amount=rng.choice((1_000, 5_000, 10_000)),
                                   donated_at=stamp, message="基准测试：新增捐赠")
        donations.receive_donation(donation)

    with write_transaction():
        for vid in order:
            if len(chosen["donation"]) < wanted["donation"] and receiving(vid):
                chosen["donation"].append(vid)
            elif len(chosen["spending"]) < wanted["spending"] and spendable(vid):
                chosen["spending"].append(vid)
            else:
                continue
            used.add(vid)
            if len(chosen["donation"]) + len(chosen["spending"]) == wanted["donation"] + wanted["spending"]:
                break
        fallback = wanted["spending"] - len(chosen["spending"])
        for vid in order:  # not enough projects with money to spend: donations instead
            if fallback <= 0:
                break
            if vid not in used and receiving(vid):
                chosen["donation"].append(vid)
                used.add(vid)
                fallback -= 1
                result["spending_fell_back_to_donation"] += 1
        for vid in order:
            if len(chosen["edit"]) >= count - len(chosen["donation"]) - len(chosen["spending"]):
                break
            if vid not in used:
                chosen["edit"].append(vid)
                used.add(vid)
        for index, vid in enumerate(chosen["donation"]):
            donate(receiving(vid), index)
        for index, vid in enumerate(chosen["spending"]):
            spending.record_expenditure(spendable(vid), spent_on=today(), item="基准测试材料采购", payee="建材商店",
                                        amount=SPEND, voucher_no=f"BENCH-V-{index:05d}")
        for vid in chosen["edit"]:
            project = villages[vid][0]
            Project.update(summary=f"{project.summary}\n\n（{stamp:%Y-%m-%d %H:%M} 更新：项目简介已修订。）",
                           updated_at=stamp).where(Project.id == project.id).execute()
    for kind in ("donation", "spending", "edit"):
        result[kind] = len(chosen[kind])
    ids = [vid for kind in ("donation", "spending", "edit") for vid in chosen[kind]]
    result["codes"] = sorted(code for (code,) in Area.select(Area.code).join(Village, on=(Village.area == Area.id))
                             .where(Village.id.in_(ids)).tuples())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.change", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"), help="database URL (default: DATABASE_URL)")
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("DATABASE_URL is not set")
    open_database(args.url)
    database.connect()
    try:
        result = change(args.fraction, args.seed)
    finally:
        database.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
