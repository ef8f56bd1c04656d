"""A full disk (issue 17): a tmpfs with a size limit mounted as the attachments folder, the SQLite database's
folder or the site's releases. Each write path refuses with a clear message and keeps nothing — no row, no
file, the old site still served — and simply runs again once there is room. The test mounts the tmpfs itself
(root, as CI here runs); where the machine does not allow it the tests are skipped with the reason."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import data
from db import attachments, backup
from db.database import database
from db.integrity import integrity_problems
from db.models import Attachment, Entry, Expenditure, PublishRun, Role

from .admin_support import Desk, errors, project_url, spending_form, successes
from .backends import bound
from .factories import PDF, Chain, project_in
from .test_cli import ok, ready

CLI = [sys.executable, "-m", "admin.cli"]
MB = 1 << 20
GIFTS = 20_000  # several MB of pages: far beyond the 2 MB left


@contextlib.contextmanager
def tmpfs(path: Path, size: int):
    """``path`` as a tmpfs of ``size`` bytes; yields a function that sets a new size."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here (mount: {mounted.stderr.strip() or mounted.returncode}); "
                    "the disk-full tests need root, as CI on this machine has")

    def resize(new: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new}", str(path)], check=True, capture_output=True)

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def used(path: Path) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def xfjy(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=900)


def test_an_upload_onto_a_full_disk_keeps_no_row_and_no_file(app, db):
    chain = Chain()
    project = project_in(chain, "implementing")
    root = Path(app.config["ATTACHMENTS_DIR"])
    # 120 KB each: a form over 500 KB makes Werkzeug's test client spool it to a file it never closes
    receipts = [PDF[:-6] + bytes([i]) * (120 * 1024) + b"\n%%EOF\n" for i in range(3)]
    desk = Desk(app, chain)
    with tmpfs(root, 1 * MB) as resize:
        (root / "filler").write_bytes(b"\0" * (MB - 200 * 1024))  # room for one receipt, not three
        before = (Expenditure.select().count(), Entry.select().count(), Attachment.select().count())
        form = {**spending_form(), "receipts": [(io.BytesIO(r), f"收据-{i}.pdf") for i, r in enumerate(receipts)]}
        page = desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure", form, content_type="multipart/form-data")
        assert errors(page) and "存储空间已满" in errors(page)[0], errors(page)
        assert (Expenditure.select().count(), Entry.select().count(), Attachment.select().count()) == before
        # The receipts written before the disk filled are left to the sweep (another upload of the same file may
        # be about to refer to one): nobody refers to them, and no unfinished .part is left.
        left = [p for p in attachments.stored_files(root)]
        assert not [p for p in left if p.name.endswith(".part")] and not Attachment.select().where(
            Attachment.sha256.in_([p.name for p in left])).exists()
        assert sorted(attachments.sweep(root, grace=dt.timedelta(0))) == sorted(left)
        assert integrity_problems() == []
        resize(8 * MB)
        form = {**spending_form(), "receipts": [(io.BytesIO(r), f"收据-{i}.pdf") for i, r in enumerate(receipts)]}
        page = desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure", form, content_type="multipart/form-data")
        assert successes(page) == ["支出已登记并记账"], errors(page)
        assert Attachment.select().count() == before[2] + 3


def test_an_import_onto_a_full_database_disk_writes_nothing(tmp_path, keep_proxy):
    """SQLite only: PostgreSQL's files are the server's, not the instance's."""
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'xfjy.sqlite3'}"
    env = {"DATABASE_URL": url, "XFJY_INSTANCE": str(tmp_path / "instance")}
    with tmpfs(folder, 256 * MB) as resize:
        for args in (["init-db"], ["load-regions"], ["demo", "--villages", "20", "--donations", "400", "--seed", "4"]):
            assert xfjy(*args, **env).returncode == 0
        gifts = tmp_path / "gifts.csv"
        with bound(url):
            data.write_donations(gifts, data.receiving_project_codes(), GIFTS, prefix="FULL-", seed=3)
            before = backup.table_counts()
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        resize(used(folder) + 2 * MB)
        refused = xfjy("import-donations", gifts, **env)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "存储空间已满" in refused.stderr and "未保存任何内容" in refused.stderr, refused.stderr
        with bound(url):
            assert backup.table_counts() == before
            assert integrity_problems() == []
            assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        resize(256 * MB)
        again = xfjy("import-donations", gifts, **env)
        assert again.returncode == 0, again.stderr
        with bound(url):
            assert backup.table_counts()["donation"] == before["donation"] + GIFTS
            assert integrity_problems() == []


def test_a_publish_onto_a_full_disk_keeps_the_old_site(cli_url, tmp_path):
    instance = Path(os.environ["XFJY_INSTANCE"])
    ready(cli_url)
    ok("demo", "--villages", "12", "--donations", "400", "--seed", "4")
    releases = instance / "site-releases"
    with tmpfs(releases, 256 * MB) as resize:
        ok("publish")
        live = (instance / "site").resolve()
        size = used(releases)
        resize(size + size // 3)  # room for a third of another release
        refused = xfjy("publish", "--full")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "存储空间已满" in refused.stderr, refused.stderr
        assert (instance / "site").resolve() == live and (live / "index.html").is_file()
        assert [p.name for p in releases.iterdir() if p.is_dir()] == [live.name]  # the unfinished one removed
        with bound(cli_url):
            last = PublishRun.select().order_by(PublishRun.id.desc()).first()
            assert last.status == "failed" and "存储空间已满" in last.errors, last.errors
        resize(256 * MB)
        ok("publish", "--full")
        assert (instance / "site").resolve() != live
