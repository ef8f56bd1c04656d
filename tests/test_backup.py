"""``xfjy backup`` and ``xfjy restore`` (db/backup.py): one archive holds every table and every referenced
attachment; a restore into an empty instance, on either database and across them, matches the manifest."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from db import attachments, backup, history
from db.integrity import integrity_problems
from db.models import Attachment, Donation, Role, Village

from .backends import bound, pg_schema
from .test_cli import ok, one_line_error, ready, xfjy

pytestmark = pytest.mark.usefixtures("keep_proxy")


def demo(cli_url: str) -> None:
    ready(cli_url)
    ok("demo", "--villages", "12", "--donations", "400", "--seed", "4")


@contextlib.contextmanager
def other_instance(tmp_path: Path, backend: str, monkeypatch):
    """An empty instance (folder and database) of ``backend``, made the current one."""
    monkeypatch.setenv("XFJY_INSTANCE", str(tmp_path / f"restored-{backend}"))
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'restored-{backend}' / 'xfjy.sqlite3'}"
        monkeypatch.setenv("DATABASE_URL", url)
        yield url
        return
    with pg_schema(f"xfjy_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


def snapshot(url: str) -> dict:
    with bound(url):
        return {"counts": backup.table_counts(), "head": history.head(),
                "gifts": sorted(Donation.select(Donation.txn_no, Donation.amount, Donation.donated_at).tuples()),
                "files": sorted(Attachment.select(Attachment.sha256).distinct().tuples())}


@pytest.mark.parametrize("into", ["same", "other"])
def test_a_backup_restores_into_an_empty_instance_on_either_database(cli_url, tmp_path, monkeypatch, into):
    demo(cli_url)
    source = "sqlite" if cli_url.startswith("sqlite") else "postgres"
    before = snapshot(cli_url)
    archive = tmp_path / "b.tar"
    made = ok("backup", archive)
    assert f"附件 {len(before['files'])} 个" in made.output and f"公开历史第 {before['head'][0]} 条" in made.output
    manifest = backup.read_manifest(archive)
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == before["counts"]
    assert [f[0] for f in manifest["attachments"]["files"]] == [sha for (sha,) in before["files"]]
    with tarfile.open(archive) as tar:
        assert manifest["secret_key"] == "present" and "xfjy-backup/secret_key" not in tar.getnames()

    target = source if into == "same" else ("postgres" if source == "sqlite" else "sqlite")
    with other_instance(tmp_path, target, monkeypatch) as url:
        done = ok("restore", archive)
        assert "核对通过" in done.output
        after = snapshot(url)
        assert after == before
        root = tmp_path / f"restored-{target}" / "attachments"
        for (sha,) in after["files"]:
            assert attachments.file_sha256(attachments.path_for(root, sha)) == sha
        with bound(url):
            assert integrity_problems() == [] and history.problems() == []
            village = Village.select().first()
        ok("create-user", "--username", "after-restore", "--password", "password-1", "--role", "village",
           "--area", village.area.code)  # ids go on from the restored ones


def test_restore_refuses_a_non_empty_instance_unless_forced(cli_url, tmp_path):
    demo(cli_url)
    archive = tmp_path / "b.tar"
    ok("backup", archive)
    before = snapshot(cli_url)
    line = one_line_error(xfjy("restore", archive))
    assert "不是空的" in line and "--force" in line
    assert snapshot(cli_url) == before
    forced = ok("restore", "--force", archive)
    assert "已清空目标实例" in forced.output and "核对通过" in forced.output
    assert snapshot(cli_url) == before


def test_a_damaged_archive_is_refused_and_writes_nothing(cli_url, tmp_path, monkeypatch):
    demo(cli_url)
    archive, bad = tmp_path / "b.tar", tmp_path / "bad.tar"
    ok("backup", archive)
    with tarfile.open(archive) as src, tarfile.open(bad, "w") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith("/donation.jsonl.gz"):
                data = data[:-40] + bytes(40)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    with other_instance(tmp_path, "sqlite", monkeypatch) as url:
        line = one_line_error(xfjy("restore", bad))
        assert "donation" in line and "损坏" in line
        with bound(url):
            assert sum(backup.table_counts().values()) == 0
        not_a_backup = tmp_path / "x.tar"
        not_a_backup.write_bytes(b"hello")
        assert "不是完整的备份文件" in one_line_error(xfjy("restore", not_a_backup))


def test_a_missing_receipt_fails_the_backup_by_name_and_the_restore_check(cli_url, tmp_path, monkeypatch):
    demo(cli_url)
    root = tmp_path / "instance" / "attachments"
    with bound(cli_url):
        sha = Attachment.select().first().sha256
    attachments.path_for(root, sha).unlink()
    archive = tmp_path / "b.tar"
    result = xfjy("backup", archive)
    assert result.exit_code == 1 and f"附件 {sha} 缺失" in result.output and archive.exists()
    assert backup.read_manifest(archive)["problems"] == [f"附件 {sha} 缺失（数据库引用了它，附件目录里没有）"]
    with other_instance(tmp_path, "sqlite", monkeypatch):
        restored = xfjy("restore", archive)
        assert restored.exit_code == 1 and f"附件 {sha} 未恢复" in restored.output


def test_the_secret_key_travels_only_when_asked(cli_url, tmp_path, monkeypatch):
    demo(cli_url)
    key = (tmp_path / "instance" / "secret_key")
    key.write_text("k" * 64)
    archive = tmp_path / "b.tar"
    assert "密钥已包含" in ok("backup", "--with-secret-key", archive).output
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("xfjy-backup/manifest.json").read())["secret_key"] == "included"
    with other_instance(tmp_path, "sqlite", monkeypatch):
        assert "已恢复备份中的密钥" in ok("restore", archive).output
        restored = tmp_path / "restored-sqlite" / "secret_key"
        assert restored.read_text() == "k" * 64 and oct(restored.stat().st_mode & 0o777) == "0o600"


def test_backups_into_a_folder_keep_n_daily_and_m_monthly(cli_url, tmp_path):
    demo(cli_url)
    folder = tmp_path / "backups"
    folder.mkdir()
    for name in ("xfjy-backup-20260105-020000.tar", "xfjy-backup-20260220-020000.tar", "xfjy-backup-20260221-020000.tar",
                 "notes.txt"):
        (folder / name).write_text("old")
    ok("backup", folder, "--keep-daily", "2", "--keep-monthly", "2")
    names = sorted(p.name for p in folder.iterdir())
    assert "notes.txt" in names and "xfjy-backup-20260105-020000.tar" not in names
    assert "xfjy-backup-20260221-020000.tar" in names and len([n for n in names if n.endswith(".tar")]) == 2
    assert "目录" in one_line_error(xfjy("backup", tmp_path / "one.tar", "--keep-daily", "3"))


def test_to_prune_keeps_the_newest_of_each_day_and_month():
    names = ["xfjy-backup-20261201-020000.tar", "xfjy-backup-20261201-120000.tar", "xfjy-backup-20261130-020000.tar",
             "xfjy-backup-20261129-020000.tar", "xfjy-backup-20261015-020000.tar", "xfjy-backup-20260930-020000.tar",
             "xfjy-backup-20260901-020000.tar", "other.tar"]
    # 2 days: 12-01 12:00 and 11-30; 3 months: Dec (12-01 12:00), Nov (11-30), Oct (10-15)
    assert sorted(backup.to_prune(names, daily=2, monthly=3)) == [
        "xfjy-backup-20260901-020000.tar", "xfjy-backup-20260930-020000.tar",
        "xfjy-backup-20261129-020000.tar", "xfjy-backup-20261201-020000.tar"]
    assert backup.to_prune(names, daily=30, monthly=0) == ["xfjy-backup-20261201-020000.tar"]


def test_sweep_removes_only_old_files_nobody_refers_to(db, tmp_path, chain):
    root = tmp_path / "att"
    kept = attachments.store(root, b"%PDF-1.4 receipt", "r.pdf", actor=chain.users[Role.VILLAGE])
    orphan = attachments.put(root, "ab" * 32, b"left by a killed upload")
    young = attachments.put(root, "cd" * 32, b"an upload still in its transaction")
    part = root / "ef" / ("ef" * 32 + ".123.part")
    part.parent.mkdir()
    part.write_bytes(b"half")
    old = time.time() - 2 * 3600
    for path in (orphan, part, attachments.path_for(root, kept.sha256)):
        os.utime(path, (old, old))
    removed = attachments.sweep(root)
    assert sorted(removed) == sorted([orphan, part])
    assert attachments.path_for(root, kept.sha256).exists() and young.exists()
    assert attachments.sweep(root, grace=dt.timedelta(0)) == [young]
