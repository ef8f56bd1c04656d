"""db/history.py and site_builder/history.py: the public history is a SHA-256 chain anyone can
recompute, and a later publish that changed, removed or reordered anything is caught and named."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner

from db import disclosures, donations, history, integrity
from db.database import is_postgres
from db.models import ChainLink, Disclosure, Entry, PublishRun
from site_builder import history as site_history
from tests.factories import donate

TAKEN = dt.datetime(2026, 11, 1, 12, 0)


def documented_hash(previous: str, body: dict) -> str:
    """The formula content/verify.md gives the public, written out independently of db.history."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((previous + "\n" + text).encode("utf-8")).hexdigest()


def publish(tmp_path, name: str):
    """Seal, write the history files the way a publish does, and record the publish's head."""
    history.seal()
    site = tmp_path / name
    head = site_history.write(site, TAKEN)
    PublishRun.create(status="ok", head_seq=head["seq"], head_hash=head["hash"], head_at=TAKEN)
    return site


def lines(site):
    return [{"body": link.body, "hash": link.hash, "seq": link.seq} for link in site_history.read(site)[0]]


def rewrite(site, change):
    """Tamper with a published copy and re-chain it so that it is consistent in itself."""
    records = change(lines(site))
    previous = "0" * 64
    for seq, record in enumerate(records, start=1):
        record["seq"], record["hash"] = seq, documented_hash(previous, record["body"])
        previous = record["hash"]
    folder = site / "data" / "history"
    for old in [*folder.glob("*.jsonl"), *folder.glob("*.jsonl.gz")]:
        old.unlink()
    (folder / "000000001.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                            encoding="utf-8")
    head = json.loads((folder / "head.json").read_text(encoding="utf-8"))
    head["files"] = ["000000001.jsonl"]
    (folder / "head.json").write_text(json.dumps(head), encoding="utf-8")


def test_every_entry_and_disclosure_is_linked_once_by_the_documented_formula(db, project, tmp_path):
    donate(project, 10_000)
    donate(project, 2_550)
    post = disclosures.publish(project, "第一季度公示", "收到捐赠 125.50 元，联系电话 13912345678。")
    assert history.seal() == Entry.select().count() + 1
    assert history.seal() == 0
    records = lines(publish(tmp_path, "a"))
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    previous = "0" * 64
    for record in records:
        assert record["hash"] == documented_hash(previous, record["body"])
        previous = record["hash"]
    assert dict(ChainLink.select(ChainLink.seq, ChainLink.hash).tuples()) == {r["seq"]: r["hash"] for r in records}
    gifts = [r["body"] for r in records if r["body"]["type"] == "entry" and r["body"]["kind"] == "donation"]
    assert sorted(g["amount"] for g in gifts) == [2_550, 10_000]
    assert gifts[0]["project"] == project.code
    text = json.dumps(records, ensure_ascii=False)
    assert "13912345678" not in text and "交易号" not in text
    assert records[-1]["body"] == {**records[-1]["body"], "type": "disclosure", "id": post.id}
    head = json.loads((tmp_path / "a" / "data" / "history" / "head.json").read_text(encoding="utf-8"))
    assert (head["seq"], head["hash"]) == (records[-1]["seq"], records[-1]["hash"])
    assert history.problems() == [] and integrity.integrity_problems() == []


def test_an_honest_sequence_of_publishes_verifies(db, chain, project, tmp_path):
    donate(project, 10_000)
    first = publish(tmp_path, "a")
    gift = donate(project, 500)
    donations.refund_donation(gift, "捐赠人申请退款", chain.users["county"])
    original = disclosures.publish(project, "第一季度公示", "收到捐赠 100 元。")
    second = publish(tmp_path, "b")
    disclosures.correct(original, "收到捐赠 105 元。", "金额笔误")
    third = publish(tmp_path, "c")
    assert site_history.verify(first, second) == []
    assert site_history.verify(second, third) == []
    assert site_history.verify(first, third) == []
    heads = json.loads((third / "data" / "heads.json").read_text(encoding="utf-8"))
    assert [h["seq"] for h in heads] == [len(lines(first)), len(lines(second)), len(lines(third))]
    result = CliRunner().invoke(cli_group(), [str(first), str(third)])
    assert result.exit_code == 0 and "核验通过" in result.output


def cli_group():
    """The ``xfjy verify`` command itself: it reads two folders and needs no database or app."""
    from admin.cli import verify

    return verify


def drop_entry_guard():
    """What an insider with database access would do first (rolled back with the test)."""
    if is_postgres():
        Entry._meta.database.execute_sql("ALTER TABLE entry DISABLE TRIGGER entry_no_change")
    else:
        Entry._meta.database.execute_sql("DROP TRIGGER entry_no_update")


def test_an_amount_edited_in_the_database_is_named(db, project, tmp_path):
    donate(project, 10_000)
    target = donate(project, 300)
    donate(project, 700)
    old = publish(tmp_path, "a")
    drop_entry_guard()
    entry = Entry.get(Entry.donation == target)
    Entry.update(amount=30_000).where(Entry.id == entry.id).execute()
    assert history.problems() and "被改动" in history.problems()[0]
    new = publish(tmp_path, "b")
    problems = site_history.verify(old, new)
    assert problems and f"分录 #{entry.id}" in problems[0] and "amount 由 300 变为 30000" in problems[0]
    result = CliRunner().invoke(cli_group(), [str(old), str(new)])
    assert result.exit_code == 1 and f"分录 #{entry.id}" in result.output


def test_a_silently_edited_disclosure_is_named(db, project, tmp_path):
    donate(project, 10_000)
    post = disclosures.publish(project, "第一季度公示", "收到捐赠 100 元。")
    old = publish(tmp_path, "a")
    Disclosure.update(body="收到捐赠 10 元。").where(Disclosure.id == post.id).execute()
    new = publish(tmp_path, "b")
    problems = site_history.verify(old, new)
    assert problems and f"公示 #{post.id}" in problems[0] and "body" in problems[0]


def three_gifts_and_a_copy(project, tmp_path):
    """A publish after three donations, and a copy of it to tamper with."""
    for amount in (100, 200, 300):
        donate(project, amount)
    old = publish(tmp_path, "a")
    new = tmp_path / "b"
    shutil.copytree(old, new)
    return old, new


def test_a_deleted_entry_is_named(db, project, tmp_path):
    old, new = three_gifts_and_a_copy(project, tmp_path)
    removed = lines(old)[-2]
    rewrite(new, lambda records: [r for r in records if r["seq"] != removed["seq"]])
    problems = site_history.verify(old, new)
    assert problems and problems[0].startswith(f"第 {removed['seq']} 条（分录 #{removed['body']['id']}）")
    assert "删除" in problems[0]


def test_a_reordered_pair_is_named(db, project, tmp_path):
    old, new = three_gifts_and_a_copy(project, tmp_path)
    first = lines(old)[-3]

    def swap(records):
        records[-3], records[-2] = records[-2], records[-3]
        return records

    rewrite(new, swap)
    problems = site_history.verify(old, new)
    assert problems and problems[0].startswith(f"第 {first['seq']} 条（分录 #{first['body']['id']}）")
    assert f"移到了第 {first['seq'] + 1} 条" in problems[0]


def test_a_copy_edited_without_rechaining_fails_on_its_own(db, project, tmp_path):
    donate(project, 100)
    donate(project, 200)
    old = publish(tmp_path, "a")
    new = tmp_path / "b"
    shutil.copytree(old, new)
    path = new / "data" / "history" / "000000001.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace('"amount":100,', '"amount":900,'), encoding="utf-8")
    problems = site_history.verify(old, new)
    assert problems and problems[0].startswith("新版公开历史本身不成立") and "哈希与内容不符" in problems[0]


def test_a_rewritten_list_of_heads_is_reported(db, project, tmp_path):
    donate(project, 100)
    old = publish(tmp_path, "a")
    donate(project, 200)
    new = publish(tmp_path, "b")
    heads = json.loads((new / "data" / "heads.json").read_text(encoding="utf-8"))
    (new / "data" / "heads.json").write_text(json.dumps(heads[1:]), encoding="utf-8")
    assert any("heads.json" in p for p in site_history.verify(old, new))


def test_an_incremental_publish_reuses_full_files_and_writes_what_a_full_one_writes(db, project, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setattr(history, "SEGMENT", 3)
    for amount in range(100, 800, 100):
        donate(project, amount)
    history.seal()
    old = tmp_path / "old"
    site_history.write(old, TAKEN)
    donate(project, 900)
    disclosures.publish(project, "第一季度公示", "收到捐赠。")
    history.seal()
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    site_history.write(incremental, TAKEN, previous=old)
    site_history.write(full, TAKEN)
    folder = "data/history"
    names = sorted(p.name for p in (full / folder).iterdir())
    assert names == sorted(p.name for p in (incremental / folder).iterdir()) and len(names) == 4
    head = json.loads((full / folder / "head.json").read_text(encoding="utf-8"))
    sealed = [s["file"] for s in head["sealed"]]
    assert head["files"][:len(sealed)] == sealed and len(sealed) >= 2
    assert all(name.endswith(".jsonl.gz") for name in sealed)
    assert all(name.endswith(".jsonl") for name in head["files"][len(sealed):])  # the one not yet full
    for name in names:
        assert (incremental / folder / name).read_bytes() == (full / folder / name).read_bytes()
    linked = [name for name in sealed if (old / folder / name).exists()]
    assert linked and all((incremental / folder / n).stat().st_ino == (old / folder / n).stat().st_ino for n in linked)
    assert history.compare(site_history.read(old)[0], site_history.read(incremental)[0]) is None
    links = site_history.read(full)[0]
    assert [link.seq for link in links] == list(range(1, history.head()[0] + 1))
    assert gzip.decompress((full / folder / sealed[0]).read_bytes()).decode().splitlines() == [
        link.line() for link in links[:3]]


def test_a_release_with_plain_sealed_files_is_packed_once(db, project, tmp_path, monkeypatch):
    """A release written before sealed files were compressed: its plain files are reused, compressed."""
    monkeypatch.setattr(history, "SEGMENT", 2)
    for amount in range(100, 600, 100):
        donate(project, amount)
    history.seal()
    old = tmp_path / "old"
    site_history.write(old, TAKEN)
    folder = old / "data" / "history"
    head = json.loads((folder / "head.json").read_text(encoding="utf-8"))
    for segment in head["sealed"]:  # as the earlier code wrote them
        plain = segment["file"].removesuffix(".gz")
        (folder / plain).write_bytes(gzip.decompress((folder / segment["file"]).read_bytes()))
        (folder / segment["file"]).unlink()
        segment["file"] = plain
    head["files"] = [name.removesuffix(".gz") for name in head["files"]]
    (folder / "head.json").write_text(json.dumps(head), encoding="utf-8")
    new = tmp_path / "new"
    site_history.write(new, TAKEN, previous=old)
    fresh = tmp_path / "fresh"
    site_history.write(fresh, TAKEN)
    assert sorted(p.name for p in (new / "data" / "history").iterdir()) == sorted(
        p.name for p in (fresh / "data" / "history").iterdir())
    for path in (fresh / "data" / "history").iterdir():
        assert (new / "data" / "history" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_published_line_is_itself_canonical_json():
    body = {"type": "entry", "id": 7, "reason": "更正：\"重复\"", "amount": 100}
    link = history.Link(7, "ab" * 32, body, history.canonical(body))
    expected = json.dumps({"seq": 7, "hash": "ab" * 32, "body": body}, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
    assert link.line() == expected == history.Link(7, "ab" * 32, body).line()


@pytest.mark.parametrize("segment", [history.SEGMENT, 2])
def test_the_checker_printed_on_the_verify_page_agrees(db, project, tmp_path, monkeypatch, segment):
    """content/verify.md gives the public a standard-library script; it must pass an honest pair of
    copies (with sealed, compressed files, and without) and name a rewritten one."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    monkeypatch.setattr(history, "SEGMENT", segment)
    page = (Path(__file__).resolve().parent.parent / "content" / "verify.md").read_text(encoding="utf-8")
    script = tmp_path / "check.py"
    script.write_text(re.search(r"```python\n(.*?)```", page, re.S).group(1), encoding="utf-8")
    donate(project, 100)
    old = publish(tmp_path, "a")
    donate(project, 200)
    new = publish(tmp_path, "b")
    honest = subprocess.run([sys.executable, str(script), str(old), str(new)], capture_output=True, text=True)
    assert honest.returncode == 0 and "通过" in honest.stdout
    first = lines(old)[0]
    rewrite(new, lambda records: [{**r, "body": {**r["body"], "amount": 999}} if r["seq"] == 1 else r
                                  for r in records])
    caught = subprocess.run([sys.executable, str(script), str(old), str(new)], capture_output=True, text=True)
    assert caught.returncode != 0 and f"第 {first['seq']} 条被改动" in caught.stderr


def test_a_full_publish_links_the_live_releases_sealed_files(db, project, tmp_path, monkeypatch):
    """Issue 18: a sealed file never changes, so even ``publish --full`` takes it from the live release."""
    from site_builder.publish import live_release
    from site_builder.publish import publish as publish_site

    monkeypatch.setattr(history, "SEGMENT", 2)
    for amount in range(100, 600, 100):
        donate(project, amount)
    site = tmp_path / "site"
    publish_site(site, attachments=tmp_path / "attachments", full=True)
    first = live_release(site)
    donate(project, 700)
    publish_site(site, attachments=tmp_path / "attachments", full=True)
    second = live_release(site)
    assert second != first
    sealed = json.loads((second / "data" / "history" / "head.json").read_text(encoding="utf-8"))["sealed"]
    before = {s["file"] for s in json.loads((first / "data" / "history" / "head.json").read_text(encoding="utf-8"))["sealed"]}
    assert before and before <= {s["file"] for s in sealed}
    for name in before:
        assert (second / "data" / "history" / name).samefile(first / "data" / "history" / name)
    assert history.compare(site_history.read(first)[0], site_history.read(second)[0]) is None
    assert [link.hash for link in site_history.read(second)[0]] == [h for (h,) in ChainLink.select(ChainLink.hash)
                                                                    .order_by(ChainLink.seq).tuples()]
