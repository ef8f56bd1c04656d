"""捐赠查询 without a server: ``data/gift/<3 hex>.json`` shards keyed by a hash of the platform's
transaction number (慈善法 art. 42: a donor may ask how the gift was used).

A donor's browser hashes the number they type (``LOOKUP_SALT`` + number, SHA-256), downloads the
one shard named by the first three hex digits, and looks for the next 12. A shard holds only
those hash digits and what the open data already publishes of each gift (amount, date, whether it
was returned, whether it went on to the 互助基金), with the village and project it went to: no name,
no number, and no figure. The project's figures come from the village's ``summary.json``, the file the
site's audit checks against the village page (``audit.py``), so a shard changes only when its gifts
do and the lookup never shows a figure the page does not.
4,096 shards keep one lookup under 20 KB at a million donations."""
from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from pathlib import Path

from db import snapshot
from db.published import Snapshot

LOOKUP_SALT = "xfjy-gift\n"
PREFIX = 3
KEPT = 12  # 48 bits: no two of a shard's few hundred gifts, or a mistyped number, share them


def typed(txn_no: str) -> str:
    """A transaction number as typed on a phone: full-width digits and letters folded (NFKC), every
    space and zero-width character dropped, letters upper case. gift.js does the same."""
    if txn_no.isascii() and txn_no.isalnum():
        return txn_no.upper()  # what the platform exports: nothing to fold
    text = unicodedata.normalize("NFKC", txn_no)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf").upper()


def lookup_key(txn_no: str) -> str:
    """What the page's script computes from the typed number (content/assets/gift.js)."""
    return hashlib.sha256((LOOKUP_SALT + typed(txn_no)).encode("utf-8")).hexdigest()


def write(out: Path, snap: Snapshot, previous: Path | None = None, same: frozenset[str] = frozenset()) -> int:
    """Write the shards for the snapshot's public projects; returns how many files.

    With ``previous`` (the live release) and ``same`` (the villages whose data are unchanged since it,
    by their digests), those villages' gifts are taken from the previous shards and only the others'
    read from the database; a shard whose bytes come out the same is hard-linked. Either way a shard
    is its gifts in one order, so an incremental build writes what a full one writes."""
    projects = {p.id: (v, p) for v in snap.villages for p in v.projects}
    folder = out / "data" / "gift"
    folder.mkdir(parents=True, exist_ok=True)
    if not projects:
        return 0
    old = previous / "data" / "gift" if previous is not None and same else None
    try:
        shards, before = _gathered(projects, old, same) if old is not None and old.is_dir() else ({}, {})
    except _Unreadable:  # shards of an earlier layout: every gift from the database
        old, shards, before = None, {}, {}
    fresh = [pid for pid, (village, _) in projects.items() if old is None or village.code not in same]
    for gift in snapshot.gifts(fresh):
        village, project = projects[gift.project_id]
        key = lookup_key(gift.txn_no)
        shards.setdefault(key[:PREFIX], []).append(
            [key[PREFIX:PREFIX + KEPT], (village.code, project.id, project.code), gift.amount,
             gift.donated_on.isoformat(), 1 if gift.returned else 0, 1 if gift.to_fund else 0])
    for prefix, gifts in shards.items():
        gifts.sort(key=_order)
        named: dict[tuple, int] = {}
        for gift in gifts:
            gift[1] = named.setdefault(gift[1], len(named))
        text = json.dumps({"projects": [list(p) for p in named], "gifts": gifts}, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
        name = f"{prefix}.json"
        if before.get(prefix) == text:
            os.link(old / name, folder / name)
        else:
            (folder / name).write_bytes(text)
    return len(shards)


class _Unreadable(Exception):
    pass


def _order(gift: list) -> tuple:
    key, (_, project_id, _), *rest = gift
    return key, project_id, *rest


def _gathered(projects: dict, old: Path, same: frozenset[str]) -> tuple[dict[str, list], dict[str, bytes]]:
    """The gifts of the unchanged villages, by shard, read from the previous shards (with their bytes)."""
    public = {(v.code, p.id, p.code) for v, p in projects.values() if v.code in same}
    shards, before = {}, {}
    for path in old.glob("*.json"):
        data = path.read_bytes()
        shard = json.loads(data)
        table = [tuple(row) for row in shard["projects"]]
        if any(len(row) != 3 for row in table):
            raise _Unreadable(path.name)
        kept = [[g[0], table[g[1]], *g[2:]] for g in shard["gifts"] if table[g[1]] in public]
        if kept:
            shards[path.stem] = kept
        before[path.stem] = data
    return shards, before
