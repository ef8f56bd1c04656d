"""Backups that hold everything and restores that prove it: one tar file with every table, every
attachment the tables reference and a manifest to check the restore against.

The tables are written row by row as JSON lines (``tables/<table>.jsonl.gz``), read in one snapshot
(REPEATABLE READ on PostgreSQL, a WAL read transaction on SQLite), so a backup of SQLite restores into
PostgreSQL and back: the same format is the migration path between the two. Attachments are named by
their SHA-256 and never change; the ones the snapshot references are copied while a shared lock keeps
``attachments.sweep`` from removing any, and each copy is hashed on the way.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from peewee import AutoField, BigAutoField, BooleanField, DateField, DateTimeField, sort_models

from . import attachments, history, schema
from .bulk import insert_rows
from .clock import now
from .database import database, is_postgres, open_database, read_transaction, refresh_statistics, write_transaction
from .errors import XfjyError
from .integrity import integrity_problems, recorded_problems
from .models import MODELS, Attachment

FORMAT = "xfjy-backup"
FORMAT_VERSION = 1
ROOT = "xfjy-backup"  # the one folder inside the archive
PAGE = 5000
ORDER = sort_models(MODELS)  # tables a row refers to come first


class BackupError(XfjyError):
    pass


def _app_version() -> str:
    try:
        return version("xfjy")
    except PackageNotFoundError:
        return "unknown"


# -- reading and writing rows ---------------------------------------------------------------------------

def _columns(model) -> list:
    return list(model._meta.sorted_fields)


def _encode(fields) -> Callable[[tuple], list]:
    """A row as the driver gave it → JSON values that mean the same on both databases."""
    converters = []
    for f in fields:
        if isinstance(f, DateTimeField | DateField):
            converters.append(lambda v, f=f: None if v is None else f.python_value(v).isoformat())
        elif isinstance(f, BooleanField):
            converters.append(lambda v: None if v is None else bool(v))
        else:
            converters.append(None)
    return lambda row: [v if c is None else c(v) for c, v in zip(converters, row, strict=True)]


def _decode(fields) -> Callable[[list], tuple]:
    converters = []
    for f in fields:
        if isinstance(f, DateTimeField):
            converters.append(lambda v: None if v is None else dt.datetime.fromisoformat(v))
        elif isinstance(f, DateField):
            converters.append(lambda v: None if v is None else dt.date.fromisoformat(v))
        else:
            converters.append(None)
    return lambda row: tuple(v if c is None else c(v) for c, v in zip(converters, row, strict=True))


def _rows(model) -> Iterator[tuple]:
    """Every row in primary-key order, a page at a time (keyset paging: memory stays flat at a million rows)."""
    fields = _columns(model)
    pk = model._meta.primary_key
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    table, key, index, last = model._meta.table_name, pk.column_name, fields.index(pk), None
    while True:
        where, params = ("", []) if last is None else (f' WHERE "{key}" > {_mark()}', [last])
        rows = database.execute_sql(f'SELECT {names} FROM "{table}"{where} ORDER BY "{key}" LIMIT {PAGE}',
                                    params).fetchall()
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1][index]


def _mark() -> str:
    return "%s" if is_postgres() else "?"


def _sequences() -> dict[str, int]:
    """PostgreSQL's next ids (an id once given out, then deleted, is not given out again after a restore)."""
    if not is_postgres():
        return {}
    found = {}
    for model in MODELS:
        pk = model._meta.primary_key
        if isinstance(pk, AutoField | BigAutoField):
            name = database.execute_sql("SELECT pg_get_serial_sequence(%s, %s)",
                                        (f'"{model._meta.table_name}"', pk.column_name)).fetchone()[0]
            if name:
                value, called = database.execute_sql(f"SELECT last_value, is_called FROM {name}").fetchone()
                found[model._meta.table_name] = int(value) if called else int(value) - 1
    return found


# -- backup ---------------------------------------------------------------------------------------------

@dataclass
class Made:
    path: Path
    manifest: dict
    size: int
    problems: list[str] = field(default_factory=list)


def backup(dest: os.PathLike, root: os.PathLike, *, secret_key: Path | None = None,
           include_secret: bool = False) -> Made:
    """Write the backup archive to ``dest`` (atomically: a ``.part`` file renamed at the end).

    ``root`` is the attachments folder, ``secret_key`` the instance's key file (its presence is recorded;
    its value only with ``include_secret``). A referenced attachment that is missing or whose bytes no
    longer hash to its name is listed in ``Made.problems`` (and in the manifest): the rest is still saved."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".xfjy-backup-") as scratch, \
            attachments.locked(root, shared=True):
        scratch = Path(scratch)
        with read_transaction():
            manifest = _dump_tables(scratch)
            files = sorted(Attachment.select(Attachment.sha256, Attachment.size).distinct().tuples())
        manifest["attachments"] = {"count": len(files), "bytes": sum(size for _, size in files),
                                   "files": [[sha, size] for sha, size in files]}
        manifest["secret_key"] = ("included" if include_secret and secret_key and secret_key.exists()
                                  else "present" if secret_key and secret_key.exists() else "absent")
        problems = []
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for table in manifest["tables"]:
                _add_file(tar, scratch / f"{table}.jsonl.gz", f"{ROOT}/tables/{table}.jsonl.gz")
            for sha, _ in files:
                problem = _add_attachment(tar, root, sha)
                if problem:
                    problems.append(problem)
            if manifest["secret_key"] == "included":
                _add_bytes(tar, f"{ROOT}/secret_key", secret_key.read_bytes())
            manifest["problems"] = problems
            _add_bytes(tar, f"{ROOT}/manifest.json",
                       json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode())
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
    os.replace(partial, dest)
    _fsync_dir(dest.parent)
    return Made(dest, manifest, dest.stat().st_size, problems)


def _dump_tables(scratch: Path) -> dict:
    seq, head_hash = history.head()
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "app_version": _app_version(),
                "created_at": now().isoformat(" "), "backend": "postgresql" if is_postgres() else "sqlite",
                "migrations": schema.applied(), "history": {"seq": seq, "hash": head_hash},
                "sequences": _sequences(), "tables": {}}
    for model in ORDER:
        fields = _columns(model)
        encode, count, digest = _encode(fields), 0, hashlib.sha256()
        path = scratch / f"{model._meta.table_name}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
            for row in _rows(model):
                out.write(json.dumps(encode(row), ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        digest.update(path.read_bytes())
        manifest["tables"][model._meta.table_name] = {
            "rows": count, "columns": [f.column_name for f in fields], "sha256": digest.hexdigest()}
    return manifest


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
    with open(path, "rb") as handle:
        tar.addfile(info, handle)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600 if name.endswith("secret_key") else 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_attachment(tar: tarfile.TarFile, root: os.PathLike, sha: str) -> str | None:
    path = attachments.path_for(root, sha)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return f"附件 {sha} 缺失（数据库引用了它，附件目录里没有）"
    if hashlib.sha256(data).hexdigest() != sha:
        return f"附件 {sha} 已损坏（内容的 SHA-256 与文件名不符）"
    _add_bytes(tar, f"{ROOT}/attachments/{sha[:2]}/{sha}", data)
    return None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading a backup ----------------------------------------------------------------------------------

def read_manifest(archive: os.PathLike) -> dict:
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile(f"{ROOT}/manifest.json")
            manifest = json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, ValueError) as exc:
        raise BackupError(f"{archive} 不是完整的备份文件（{type(exc).__name__}: {exc}）") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{archive} 不是本系统的备份（格式 {manifest.get('format')} "
                          f"{manifest.get('format_version')}）")
    return manifest


# -- restore --------------------------------------------------------------------------------------------

@dataclass
class Restored:
    manifest: dict
    counts: dict[str, int]
    attachments: int
    head: tuple[int, str]
    secret_key: str
    problems: list[str]


def table_counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ORDER if m.table_exists()}


def is_empty(root: os.PathLike) -> list[str]:
    """What the instance holds already (empty list: nothing), so a restore does not mix two systems."""
    held = [f"表 {name} 有 {n} 行" for name, n in table_counts().items() if n]
    stored = sum(1 for _ in attachments.stored_files(root))
    return held + ([f"附件目录有 {stored} 个文件"] if stored else [])


def wipe(url: str, root: os.PathLike) -> None:
    """Remove every table (and PostgreSQL function) of the database at ``url`` and every stored file."""
    if is_postgres():
        with database.atomic():
            for (name,) in database.execute_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall():
                database.execute_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
            for (signature,) in database.execute_sql(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema()").fetchall():
                database.execute_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    else:
        database.close()
        path = Path(url.split(":///", 1)[-1])
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        open_database(url).connect()
    if Path(root).exists():
        shutil.rmtree(root)


def restore(archive: os.PathLike, root: os.PathLike, *, secret_key: Path | None = None) -> Restored:
    """Load the backup into the bound (empty) database and ``root``, then check it against the manifest."""
    manifest = read_manifest(archive)
    migrations = manifest["migrations"]
    known = schema.router().todo
    unknown = [name for name in migrations if name not in known]
    if unknown:
        raise BackupError(f"备份来自更新版本的程序（迁移 {'、'.join(unknown)} 本程序没有），请先升级程序")
    if schema.applied():
        if schema.applied() != migrations:
            raise BackupError("目标数据库的结构版本与备份不同：请恢复到空数据库")
    elif migrations:
        schema.upgrade(migrations[-1])
    with tarfile.open(archive, "r") as tar:
        with write_transaction():
            later = []
            for model in ORDER:
                later += _load_table(tar, model, manifest["tables"].get(model._meta.table_name))
            for model, f, key, value in later:
                model.update({f: value}).where(model._meta.primary_key == key).execute()
            _set_sequences(manifest.get("sequences", {}))
        files = _restore_attachments(tar, root, manifest)
        key_state = _restore_secret(tar, manifest, secret_key)
    schema.upgrade()
    refresh_statistics(ORDER)
    return check(manifest, root, restored_files=files, secret_key=key_state)


def _ahead(model) -> set:
    """Foreign keys to a table loaded after this one (a fund payment's entry: the two refer to each other)."""
    return {f for f in model._meta.refs if f.rel_model is not model and ORDER.index(f.rel_model) > ORDER.index(model)}


def _load_table(tar: tarfile.TarFile, model, listed: dict | None) -> list[tuple]:
    """Insert the table's rows; returns the (model, field, key, value) to set once the tables ahead exist."""
    name = model._meta.table_name
    if listed is None:
        raise BackupError(f"备份里没有表 {name}")
    by_column = {f.column_name: f for f in _columns(model)}
    missing = [c for c in listed["columns"] if c not in by_column]
    if missing:
        raise BackupError(f"表 {name} 的列 {'、'.join(missing)} 在本程序的结构中不存在")
    fields = [by_column[c] for c in listed["columns"]]
    member = f"{ROOT}/tables/{name}.jsonl.gz"
    digest = hashlib.sha256()
    with tar.extractfile(member) as packed:
        for chunk in iter(lambda: packed.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != listed["sha256"]:
        raise BackupError(f"备份里表 {name} 的数据已损坏（SHA-256 与清单不符）")
    decode = _decode(fields)
    parents = [i for i, f in enumerate(fields) if getattr(f, "rel_model", None) is model]
    lines = io.TextIOWrapper(gzip.GzipFile(fileobj=tar.extractfile(member)), encoding="utf-8")
    rows = (decode(json.loads(line)) for line in lines)
    if parents:
        rows = _parents_first(rows, fields.index(model._meta.primary_key), parents)
    later, ahead, key = [], [i for i, f in enumerate(fields) if f in _ahead(model)], fields.index(model._meta.primary_key)
    if ahead:
        rows = list(rows)
        later = [(model, fields[i], row[key], row[i]) for row in rows for i in ahead if row[i] is not None]
        rows = [tuple(None if i in ahead else v for i, v in enumerate(row)) for row in rows]
    insert_rows(model, [f.name for f in fields], rows, page=PAGE)
    return later


def _parents_first(rows, key: int, parents: list[int]) -> Iterator[tuple]:
    """Rows of a table that refers to itself (an area's parent, a correction's original), each after the
    rows it refers to, so every foreign key holds at the moment of the insert."""
    seen, waiting = set(), {}
    for row in rows:
        ready = [row]
        while ready:
            current = ready.pop()
            blocker = next((current[i] for i in parents if current[i] is not None and current[i] not in seen
                            and current[i] != current[key]), None)
            if blocker is not None:
                waiting.setdefault(blocker, []).append(current)
                continue
            seen.add(current[key])
            yield current
            ready.extend(waiting.pop(current[key], []))
    if waiting:
        raise BackupError(f"备份里有 {sum(map(len, waiting.values()))} 行引用了不存在的行")


def _set_sequences(saved: dict[str, int]) -> None:
    if not is_postgres():
        return
    for model in MODELS:
        pk = model._meta.primary_key
        if not isinstance(pk, AutoField | BigAutoField):
            continue
        table = model._meta.table_name
        top = database.execute_sql(f'SELECT COALESCE(MAX("{pk.column_name}"), 0) FROM "{table}"').fetchone()[0]
        value = max(int(top), int(saved.get(table, 0)))
        database.execute_sql("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                             (f'"{table}"', pk.column_name, max(value, 1), value > 0))


def _restore_attachments(tar: tarfile.TarFile, root: os.PathLike, manifest: dict) -> int:
    restored = 0
    for sha, _size in manifest["attachments"]["files"]:
        try:
            member = tar.extractfile(f"{ROOT}/attachments/{sha[:2]}/{sha}")
        except KeyError:
            continue  # the backup recorded it as missing; check() reports it
        attachments.put(root, sha, member.read())
        restored += 1
    return restored


def _restore_secret(tar: tarfile.TarFile, manifest: dict, secret_key: Path | None) -> str:
    if manifest["secret_key"] != "included" or secret_key is None:
        return "备份未含密钥，沿用本实例的密钥" if manifest["secret_key"] != "included" else "未写入密钥"
    partial = secret_key.with_name(secret_key.name + ".part")
    secret_key.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(tar.extractfile(f"{ROOT}/secret_key").read())
    partial.chmod(0o600)
    os.replace(partial, secret_key)
    return "已恢复备份中的密钥"


def check(manifest: dict, root: os.PathLike, *, restored_files: int | None = None,
          secret_key: str = "") -> Restored:
    """Compare the bound database and ``root`` with ``manifest``: row counts, attachment hashes, the
    ledger's own checks and the public history's head."""
    problems = list(manifest.get("problems", []))
    counts = table_counts()
    for name, listed in manifest["tables"].items():
        if counts.get(name) != listed["rows"]:
            problems.append(f"表 {name}：备份 {listed['rows']} 行，恢复后 {counts.get(name)} 行")
    good = 0
    for sha, size in manifest["attachments"]["files"]:
        path = attachments.path_for(root, sha)
        if not path.exists():
            problems.append(f"附件 {sha} 未恢复")
        elif path.stat().st_size != size or attachments.file_sha256(path) != sha:
            problems.append(f"附件 {sha} 的内容与清单不符")
        else:
            good += 1
    problems += integrity_problems() + recorded_problems() + history.problems()
    head = history.head()
    if [head[0], head[1]] != [manifest["history"]["seq"], manifest["history"]["hash"]]:
        problems.append(f"公开历史的末条：备份为第 {manifest['history']['seq']} 条 {manifest['history']['hash'][:12]}，"
                        f"恢复后为第 {head[0]} 条 {head[1][:12]}")
    return Restored(manifest, counts, good if restored_files is None else restored_files, head, secret_key, problems)


# -- keeping N daily and M monthly ---------------------------------------------------------------------

NAME = re.compile(r"^xfjy-backup-(\d{8})-(\d{6})\.tar$")


def archive_name(at: dt.datetime) -> str:
    return f"xfjy-backup-{at:%Y%m%d-%H%M%S}.tar"


def to_prune(names: list[str], daily: int, monthly: int) -> list[str]:
    """The backups to delete: kept are the newest of each of the ``daily`` most recent days that have one
    and the newest of each of the ``monthly`` most recent months. Files not named by ``archive_name``
    are never touched."""
    dated = sorted(((m.group(1), m.group(2), n) for n in names if (m := NAME.match(n))), reverse=True)
    keep, days, months = set(), [], []
    for day, _time, name in dated:
        if day not in days:
            days.append(day)
            if len(days) <= daily:
                keep.add(name)
        if day[:6] not in months:
            months.append(day[:6])
            if len(months) <= monthly:
                keep.add(name)
    return [name for _d, _t, name in dated if name not in keep]


__all__ = ["backup", "restore", "check", "read_manifest", "is_empty", "wipe", "to_prune", "archive_name",
           "BackupError", "Made", "Restored", "table_counts"]
