"""site_builder/gifts.py: 捐赠查询 shards hold hashed numbers and published fields only, and a
number finds its own gift and nothing else."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from db import donations, snapshot, spending
from db.models import Role
from site_builder import gifts
from tests.factories import Chain, advance_to, donate, new_project


def shard_of(site, txn: str) -> tuple[dict | None, str]:
    key = hashlib.sha256(("xfjy-gift\n" + txn).encode("utf-8")).hexdigest()  # what gift.js computes
    path = site / "data" / "gift" / f"{key[:3]}.json"
    return (json.loads(path.read_text(encoding="utf-8")) if path.exists() else None), key[3:15]


def test_a_number_finds_its_own_gift_and_its_project(db, tmp_path):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    kept = donate(project, 12_345, txn="2024040122001234567890")
    returned = donate(project, 500, txn="2024040122009999999999")
    donations.refund_donation(returned, "捐赠人申请退款", chain.users[Role.COUNTY])
    with snapshot.read() as snap:
        files = gifts.write(tmp_path, snap)
    assert files == len(list((tmp_path / "data" / "gift").glob("*.json"))) >= 1
    shard, rest = shard_of(tmp_path, kept.txn_no)
    found = [g for g in shard["gifts"] if g[0] == rest]
    assert found == [[rest, 0, 12_345, f"{kept.donated_at:%Y-%m-%d}", 0, 0]]
    assert shard["projects"] == [[chain.village.area.code, project.id, project.code]]  # who, never how much
    shard, rest = shard_of(tmp_path, returned.txn_no)
    assert [g[4] for g in shard["gifts"] if g[0] == rest] == [1]
    shard, rest = shard_of(tmp_path, "2024040122001234567891")
    assert shard is None or not [g for g in shard["gifts"] if g[0] == rest]


def test_shards_carry_no_number_and_no_name(db, tmp_path):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    for n in range(40):
        donate(project, 100 + n, txn=f"ZFB2024{n:012d}")
    from db.models import Donation

    Donation.update(donor_name="王秀兰", name_consent="full").execute()
    with snapshot.read() as snap:
        gifts.write(tmp_path, snap)
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "data" / "gift").glob("*.json"))
    assert "ZFB2024" not in text and "王秀兰" not in text and "13800000000" not in text
    assert sum(len(json.loads(p.read_text(encoding="utf-8"))["gifts"])
               for p in (tmp_path / "data" / "gift").glob("*.json")) == 40
    assert gifts.lookup_key(" ZFB2024000000000007 ") == gifts.lookup_key("ZFB2024000000000007")


def test_what_people_type_on_a_phone_finds_the_same_gift():
    plain = gifts.lookup_key("ZFB2024000000000007")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "ZFB2024000000000007")
    for typed in ("zfb2024000000000007", full_width, "ZFB 2024 0000 0000 0007",
                  "ZFB2024\u200b000000000007", "\u3000ZFB2024000000000007\t"):
        assert gifts.lookup_key(typed) == plain, typed
    assert gifts.lookup_key("ZFB2024000000000008") != plain


def test_a_shard_does_not_change_when_only_its_projects_figures_do(db, tmp_path):
    """Issue 18: the figures are the village's summary.json; a disbursement or a spending line leaves
    every shard as it was, so an incremental publish keeps them."""
    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    for n in range(5):
        donate(project, 1_000 + n, txn=f"WX2024{n:014d}")
    with snapshot.read() as snap:
        gifts.write(tmp_path / "before", snap)
        raised = snap.villages[0].projects[0].totals
    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item="修路", payee="施工队", amount=300,
                                actor=chain.users[Role.VILLAGE])
    with snapshot.read() as snap:
        assert snap.villages[0].projects[0].totals.spent == raised.spent + 300  # the figures moved
        gifts.write(tmp_path / "after", snap)
    before = {p.name: p.read_bytes() for p in (tmp_path / "before" / "data" / "gift").iterdir()}
    assert before and before == {p.name: p.read_bytes() for p in (tmp_path / "after" / "data" / "gift").iterdir()}


def test_an_incremental_write_takes_unchanged_villages_from_the_previous_shards(db, tmp_path):
    """Issue 18: only a changed village's gifts are read again; the result is what a full write makes,
    and a shard that comes out the same is the previous file, linked."""
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    for n in range(60):
        donate(project, 1_000 + n, txn=f"YL2024{n:014d}")
    first = tmp_path / "first"
    with snapshot.read() as snap:
        gifts.write(first, snap)
        code = snap.villages[0].code
    donate(project, 777, txn="YL2024NEW0000000001")
    again, full = tmp_path / "again", tmp_path / "full"
    with snapshot.read() as snap:
        gifts.write(again, snap, first, frozenset())          # nothing unchanged: all from the database
        gifts.write(full, snap)
    assert _shards(again) == _shards(full)
    with snapshot.read() as snap:  # the village unchanged since ``full``: every gift from its shards
        same = tmp_path / "same"
        gifts.write(same, snap, full, frozenset({code}))
    assert _shards(same) == _shards(full)
    linked = [p for p in (same / "data" / "gift").iterdir() if p.samefile(full / "data" / "gift" / p.name)]
    assert len(linked) == len(_shards(full))


def test_shards_of_the_earlier_layout_are_not_trusted(db, tmp_path):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 1_000, txn="YL2024OLD0000000001")
    first = tmp_path / "first"
    with snapshot.read() as snap:
        gifts.write(first, snap)
        code = snap.villages[0].code
    for path in (first / "data" / "gift").iterdir():  # as shards with figures were
        shard = json.loads(path.read_text(encoding="utf-8"))
        shard["projects"] = [[project.name, "村", *row, "募捐中", 1, 2, 3, 4, 5, 6] for row in shard["projects"]]
        path.write_text(json.dumps(shard), encoding="utf-8")
    again, full = tmp_path / "again", tmp_path / "full"
    with snapshot.read() as snap:
        gifts.write(again, snap, first, frozenset({code}))
        gifts.write(full, snap)
    assert _shards(again) == _shards(full) != {}


def _shards(site) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site / "data" / "gift").iterdir())}
