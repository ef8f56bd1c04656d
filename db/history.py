"""The public history: every posted ledger entry and every published disclosure version, numbered
and chained by SHA-256, so that anyone holding two published copies of the site can prove that the
later one extends the earlier one and name the first record that was changed.

The chain, as ``content/verify.md`` explains it to the public::

    body_n = JSON of the record: keys sorted, no spaces, UTF-8, amounts in fen (``canonical``)
    hash_n = SHA-256 of  hash_(n-1) + "\\n" + body_n   as lowercase hex;  hash_0 = 64 zeros

A record is linked by ``seal`` (every publish runs it first): whatever is not yet linked, entries
in id order, then disclosures in id order. Entries and disclosures are never updated, so a body
computed today equals the body computed when it was linked; ``problems`` checks exactly that.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from peewee import JOIN, chunked, fn

from .bulk import insert_rows, raw_rows
from .clock import now
from .database import write_transaction
from .ledger import hold_ledger
from .models import Account, Area, ChainLink, Disclosure, Entry, Project
from .public import public_text, redact

GENESIS = "0" * 64
SEGMENT = 10_000  # links per published file: data/history/<first seq>.jsonl
BATCH = 20_000


canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def link_hash(previous: str, body: dict, text: str | None = None) -> str:
    """``text`` is ``canonical(body)`` when the caller has it already."""
    return hashlib.sha256((previous + "\n" + (text or canonical(body))).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    seq: int
    hash: str
    body: dict
    text: str = ""  # canonical(body), kept from hashing for writing

    def line(self) -> str:
        """One line of a published history file: the canonical JSON of ``{body, hash, seq}``."""
        return f'{{"body":{self.text or canonical(self.body)},"hash":"{self.hash}","seq":{self.seq}}}'


def _day(value) -> str | None:
    return None if value is None else str(value)[:10]


def _entry_bodies(condition, accounts: dict) -> dict[int, dict]:
    query = (Entry.select(Entry.id, Entry.kind, Entry.amount, Entry.booked_on, Entry.reverses, Entry.reason, Project.code,
                          Entry.from_account, Entry.to_account)
             .join_from(Entry, Project, JOIN.LEFT_OUTER, on=(Entry.project == Project.id)).where(condition))
    rows = raw_rows(query)
    _describe_accounts(accounts, {r[7] for r in rows} | {r[8] for r in rows})
    return {eid: {"amount": int(amount), "booked_on": _day(booked), "from": accounts[source], "id": eid,
                  "kind": kind, "project": project or "", "reason": public_text(reason), "reverses": reverses,
                  "to": accounts[target], "type": "entry"}
            for eid, kind, amount, booked, reverses, reason, project, source, target in rows}


def _describe_accounts(known: dict, ids: set[int]) -> None:
    """``[kind, area code, project code, name]`` of each account, read once per chain walk."""
    missing = sorted(ids - known.keys())
    AccountArea, AccountProject = Area.alias(), Project.alias()
    for chunk in chunked(missing, 5000):
        query = (Account.select(Account.id, Account.kind, AccountArea.code, AccountProject.code, Account.name)
                 .join_from(Account, AccountArea, JOIN.LEFT_OUTER, on=(Account.area == AccountArea.id))
                 .join_from(Account, AccountProject, JOIN.LEFT_OUTER, on=(Account.project == AccountProject.id))
                 .where(Account.id.in_(chunk)))
        for aid, kind, area, project, name in raw_rows(query):
            known[aid] = [kind, area or "", project or "", public_text(name)]  # a payee's name is typed by staff


def _disclosure_bodies(condition, accounts: dict) -> dict[int, dict]:
    query = (Disclosure.select(Disclosure.id, Project.code, Disclosure.title, Disclosure.published_on,
                               Disclosure.period_start, Disclosure.period_end, Disclosure.body, Disclosure.corrects,
                               Disclosure.correction_note)
             .join(Project).where(condition))
    return {did: {"type": "disclosure", "id": did, "project": project, "title": public_text(title),
                  "published_on": _day(published), "period_start": _day(start), "period_end": _day(end),
                  "body": redact(body), "corrects": corrects, "correction_note": public_text(note)}
            for did, project, title, published, start, end, body, corrects, note in raw_rows(query)}


BODIES = {"entry": (Entry, _entry_bodies), "disclosure": (Disclosure, _disclosure_bodies)}


def _ids(model, ids: list[int]):
    """A condition for these ids: one range read when they are nearly contiguous (they usually are)."""
    low, high = min(ids), max(ids)
    return model.id.between(low, high) if high - low < 4 * len(ids) else model.id.in_(ids)


def head() -> tuple[int, str]:
    """The last link's sequence number and hash (0 and the genesis hash before any)."""
    last = ChainLink.select(ChainLink.seq, ChainLink.hash).order_by(ChainLink.seq.desc()).limit(1).tuples().first()
    return last if last else (0, GENESIS)


def seal() -> int:
    """Link every entry and disclosure not linked yet; returns how many were linked."""
    added = 0
    with write_transaction():
        hold_ledger()
        seq, previous = head()
        stamp, accounts = now(), {}
        for record, (model, bodies_of) in BODIES.items():
            if model is Entry:  # posting holds the ledger lock, so entry ids follow commit order
                linked = ChainLink.select(fn.COALESCE(fn.MAX(ChainLink.record_id), 0)).where(
                    ChainLink.record == record).scalar()
                query = model.select(model.id).where(model.id > linked)
            else:
                query = model.select(model.id).join(ChainLink, JOIN.LEFT_OUTER, on=(
                    (ChainLink.record == record) & (ChainLink.record_id == model.id))).where(ChainLink.seq.is_null())
            unlinked = [i for (i,) in raw_rows(query.order_by(model.id))]
            for ids in chunked(unlinked, BATCH):
                bodies = bodies_of(_ids(model, ids), accounts)
                rows = []
                for record_id in ids:
                    seq += 1
                    previous = link_hash(previous, bodies[record_id])
                    rows.append((seq, record, record_id, previous, stamp))
                insert_rows(ChainLink, ("seq", "record", "record_id", "hash", "linked_at"), rows)
                added += len(rows)
    return added


def links(after: int = 0):
    """The chain as it stands, recomputed from the records themselves (not from stored hashes),
    from link ``after + 1`` on, in order."""
    previous = GENESIS if after == 0 else ChainLink.get(ChainLink.seq == after).hash
    last, accounts = head()[0], {}
    for start in range(after + 1, last + 1, BATCH):
        rows = raw_rows(ChainLink.select(ChainLink.seq, ChainLink.record, ChainLink.record_id)
                        .where(ChainLink.seq.between(start, start + BATCH - 1)).order_by(ChainLink.seq))
        bodies = {}
        for record, (model, bodies_of) in BODIES.items():
            ids = [rid for _, kind, rid in rows if kind == record]
            if ids:
                bodies[record] = bodies_of(_ids(model, ids), accounts)
        for seq, record, record_id in rows:
            body = bodies.get(record, {}).get(record_id)
            if body is None:  # a record removed behind the ledger's back: the chain shows the gap
                body = {"type": record, "id": record_id, "missing": True}
            text = canonical(body)
            previous = link_hash(previous, body, text)
            yield Link(seq, previous, body, text)


def problems() -> list[str]:
    """Links whose record no longer hashes to what was stored when it was linked."""
    stored = dict(ChainLink.select(ChainLink.seq, ChainLink.hash).tuples())
    for link in links():
        if stored.get(link.seq) != link.hash:
            return [f"公开历史第 {link.seq} 条（{link.body['type']} #{link.body['id']}）与链入时不一致：记录被改动过"]
    return []


# -- checking two published copies ---------------------------------------------------------------------

def read_lines(lines) -> list[Link]:
    return [Link(item["seq"], item["hash"], item["body"]) for item in map(json.loads, lines) if item]


def check_chain(chain: list[Link]) -> str | None:
    """The first link of one published history that does not follow from the ones before it."""
    previous = GENESIS
    for position, link in enumerate(chain, start=1):
        if link.seq != position:
            return f"第 {position} 条的序号是 {link.seq}：有记录被删除或调换了顺序"
        expected = link_hash(previous, link.body)
        if link.hash != expected:
            return f"第 {link.seq} 条（{_name(link)}）的哈希与内容不符：内容被改动过"
        previous = link.hash
    return None


def compare(old: list[Link], new: list[Link]) -> str | None:
    """Why ``new`` does not extend ``old``: the first link changed, removed or reordered, or ``None``."""
    for label, chain in (("旧版", old), ("新版", new)):
        broken = check_chain(chain)
        if broken:
            return f"{label}公开历史本身不成立：{broken}"
    for before, after in zip(old, new):
        if before.hash != after.hash:
            moved = next((n.seq for n in new if n.body == before.body), None)
            same = next((n.body for n in new if n.body.get("type") == before.body.get("type")
                         and n.body.get("id") == before.body.get("id")), None)
            if moved is not None:
                how = f"该记录被移到了第 {moved} 条：顺序被调换"
            elif same is not None and not same.get("missing"):
                how = "内容被改动：" + _difference(before.body, same)
            else:
                how = "该记录被删除"
            return f"第 {before.seq} 条（{_name(before)}）与旧版不同，{how}"
    if len(new) < len(old):
        first = old[len(new)]
        return f"新版缺少第 {first.seq} 条及以后的记录（{_name(first)}）：记录被删除"
    return None


def _name(link: Link) -> str:
    kind = {"entry": "分录", "disclosure": "公示"}.get(link.body.get("type"), link.body.get("type"))
    return f"{kind} #{link.body.get('id')}"


def _difference(before: dict, after: dict) -> str:
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "；".join(f"{k} 由 {before.get(k)!r} 变为 {after.get(k)!r}" for k in keys)
