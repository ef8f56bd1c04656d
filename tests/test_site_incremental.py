"""A publish after a few villages changed renders only those and writes the same bytes as a full build."""
from __future__ import annotations

import datetime as dt
import os

from db import demo, donations, spending
from db.models import Area, Donation, Project, Village
from db.totals import project_totals
from site_builder.build import build

from .factories import file_tree

BASE = "https://xfjy.example.org/"


def _code(project: Project) -> str:
    return Area.get_by_id(Village.get_by_id(project.village_id).area_id).code


def test_incremental_build_renders_the_changed_villages_and_equals_a_full_build(db, tmp_path):
    attachments = tmp_path / "attachments"
    demo.generate(30, 600, seed=11, attachments_root=attachments)
    first = build(tmp_path / "first", base_url=BASE, attachments=attachments)
    assert first.rendered > 20

    fundraising = Project.select().where(Project.state == "fundraising").order_by(Project.id).first()
    donation = Donation.create(project=fundraising, txn_no="INCR-1", donor_name="新捐赠人", name_consent="full",
                               amount=8_800, donated_at=dt.datetime(2026, 10, 30, 9, 0))
    donations.receive_donation(donation)
    spender = next(p for p in Project.select().where(Project.state == "implementing").order_by(Project.id)
                   if project_totals(p).balance >= 100)
    spending.record_expenditure(spender, spent_on=dt.date(2026, 10, 30), item="水泥", payee="建材商店", amount=100,
                                voucher_no="INCR-V1")
    edited = (Project.select().where(Project.state == "closed", Project.id.not_in([fundraising.id, spender.id]))
              .order_by(Project.id).first())
    Project.update(summary="更正后的项目简介。", updated_at=dt.datetime(2026, 10, 30, 10, 0)).where(
        Project.id == edited.id).execute()
    changed = {_code(fundraising), _code(spender), _code(edited)}

    again = build(tmp_path / "again", base_url=BASE, attachments=attachments, previous=tmp_path / "first",
                  previous_manifest=first.manifest)
    build(tmp_path / "full", base_url=BASE, attachments=attachments)

    assert again.rendered == len(changed) == 3
    incremental, complete = file_tree(tmp_path / "again"), file_tree(tmp_path / "full")
    assert sorted(incremental) == sorted(complete)
    assert [name for name in complete if incremental[name] != complete[name]] == []
    assert "新捐赠人" in (tmp_path / "again" / "village" / _code(fundraising) / "index.html").read_text(encoding="utf-8")
    untouched = next(v.area.code for v in Village.select().join(Area).where(Village.fund_established_on.is_null(False))
                     if v.area.code not in changed and (tmp_path / "first" / "village" / v.area.code).exists())
    page = f"village/{untouched}/index.html"
    assert os.stat(tmp_path / "again" / page).st_ino == os.stat(tmp_path / "first" / page).st_ino, "linked, not rendered"
    sibling = f"{page}.gz"  # and its precompressed copy with it, not compressed again
    assert os.stat(tmp_path / "again" / sibling).st_ino == os.stat(tmp_path / "first" / sibling).st_ino
    assert os.stat(tmp_path / "full" / page).st_ino != os.stat(tmp_path / "first" / page).st_ino


def test_a_changed_theme_renders_every_village_again(db, tmp_path):
    attachments = tmp_path / "attachments"
    demo.generate(12, 200, seed=12, attachments_root=attachments)
    first = build(tmp_path / "first", base_url=BASE, attachments=attachments)
    moved = build(tmp_path / "moved", base_url="https://other.example.org/", attachments=attachments,
                  previous=tmp_path / "first", previous_manifest=first.manifest)
    assert moved.rendered == first.rendered > 0
    poster = next((tmp_path / "moved" / "poster").glob("*.html")).read_text(encoding="utf-8")
    assert "https://other.example.org/village/" in poster
