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


def write(out: Path, snap: Snapshot) -> int:
    """Write the shards for the snapshot's public projects; returns how many files."""
    projects = {p.id: (v, p) for v in snap.villages for p in v.projects}
    folder = out / "data" / "gift"
    folder.mkdir(parents=True, exist_ok=True)
    if not projects:
        return 0
    shards: dict[str, list] = {}
    for gift in snapshot.gifts(list(projects)):
        key = lookup_key(gift.txn_no)
        shards.setdefault(key[:PREFIX], []).append(
            [key[PREFIX:PREFIX + KEPT], gift.project_id, gift.amount, gift.donated_on.isoformat(),
             1 if gift.returned else 0, 1 if gift.to_fund else 0])
    for prefix, gifts in shards.items():
        gifts.sort()
        named: dict[int, int] = {}
        table = []
        for gift in gifts:
            if gift[1] not in named:
                village, project = projects[gift[1]]
                named[gift[1]] = len(table)
                table.append([village.code, project.id, project.code])
            gift[1] = named[gift[1]]
        text = json.dumps({"projects": table, "gifts": gifts}, ensure_ascii=False, separators=(",", ":"))
        (folder / f"{prefix}.json").write_text(text, encoding="utf-8")
    return len(shards)
