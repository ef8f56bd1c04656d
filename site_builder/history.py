"""The public history's files: ``data/history/<first seq>.jsonl`` (one link per line, 10,000 a file),
``data/history/head.json`` and ``data/heads.json``, the list of every head a publish has written.

A full file of 10,000 links never changes again: it is *sealed*, written once gzip-compressed
(``<first seq>.jsonl.gz``, a seventh of the size) and from then on hard-linked from release to
release. Only the last, unfinished file is plain JSON lines."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from db import history
from db.models import ChainLink, PublishRun


def write(out: Path, taken_at, previous: Path | None = None) -> dict:
    """Write the history as the database now computes it; returns the head written.

    With ``previous`` (the live release), each sealed file whose last hash is still the stored one
    is linked from it; every other link is recomputed from the records themselves."""
    folder = out / "data" / "history"
    folder.mkdir(parents=True, exist_ok=True)
    files, segments, after = _reuse(folder, previous)
    lines, last = [], None
    if segments:
        last = history.Link(segments[-1]["seq"], segments[-1]["hash"], {})
    for link in history.links(after):
        lines.append(link.line() + "\n")
        last = link
        if link.seq % history.SEGMENT == 0:
            name = _sealed_name(link.seq)
            _seal(folder / name, lines)
            files.append(name)
            segments.append({"file": name, "seq": link.seq, "hash": link.hash})
            lines = []
    if lines:
        name = f"{last.seq - len(lines) + 1:09d}.jsonl"
        with open(folder / name, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(lines)
        files.append(name)
    head = {"seq": last.seq if last else 0, "hash": last.hash if last else history.GENESIS,
            "at": _moment(taken_at), "files": files, "sealed": segments}
    (folder / "head.json").write_text(json.dumps(head, ensure_ascii=False, indent=1), encoding="utf-8")
    heads = [{"seq": seq, "hash": digest, "at": _moment(at)}
             for seq, digest, at in PublishRun.select(PublishRun.head_seq, PublishRun.head_hash, PublishRun.head_at)
             .where((PublishRun.status == "ok") & PublishRun.head_seq.is_null(False)).order_by(PublishRun.id).tuples()]
    heads = [h for i, h in enumerate(heads) if i == 0 or (h["seq"], h["hash"]) != (heads[i - 1]["seq"], heads[i - 1]["hash"])]
    if not heads or (heads[-1]["seq"], heads[-1]["hash"]) != (head["seq"], head["hash"]):
        heads.append({"seq": head["seq"], "hash": head["hash"], "at": head["at"]})
    (out / "data" / "heads.json").write_text(json.dumps(heads, ensure_ascii=False, indent=1), encoding="utf-8")
    return head


def _sealed_name(last_seq: int) -> str:
    return f"{last_seq - history.SEGMENT + 1:09d}.jsonl.gz"


def _seal(path: Path, lines: list[str]) -> None:
    """A sealed file: no time stamp or name in the gzip header, so its bytes follow from its links."""
    path.write_bytes(gzip.compress("".join(lines).encode("utf-8"), compresslevel=9, mtime=0))


def _reuse(folder: Path, previous: Path | None) -> tuple[list[str], list[dict], int]:
    """Sealed files of the previous release that still end in the stored hash, hard-linked here (a
    release from before files were sealed compressed has them plain: packed once, here)."""
    if previous is None or not (previous / "data" / "history" / "head.json").exists():
        return [], [], 0
    sealed = json.loads((previous / "data" / "history" / "head.json").read_text(encoding="utf-8")).get("sealed", [])
    stored = dict(ChainLink.select(ChainLink.seq, ChainLink.hash)
                  .where(ChainLink.seq.in_([s["seq"] for s in sealed] or [0])).tuples())
    files, segments = [], []
    for segment in sealed:
        if stored.get(segment["seq"]) != segment["hash"] or segment["seq"] != (len(segments) + 1) * history.SEGMENT:
            break
        name, source = _sealed_name(segment["seq"]), previous / "data" / "history" / segment["file"]
        if segment["file"] == name:
            os.link(source, folder / name)
        else:
            _seal(folder / name, source.read_text(encoding="utf-8").splitlines(keepends=True))
        files.append(name)
        segments.append({**segment, "file": name})
    return files, segments, segments[-1]["seq"] if segments else 0


def _moment(value) -> str:
    return str(value)[:19].replace(" ", "T") if value else ""


def read(site: Path) -> tuple[list[history.Link], list[dict]]:
    """A published copy's history and its list of heads."""
    folder = Path(site) / "data" / "history"
    head = json.loads((folder / "head.json").read_text(encoding="utf-8"))
    links = []
    for name in head["files"]:
        with (gzip.open if name.endswith(".gz") else open)(folder / name, "rt", encoding="utf-8") as handle:
            links += history.read_lines(handle)
    heads = json.loads((Path(site) / "data" / "heads.json").read_text(encoding="utf-8"))
    return links, heads


def verify(old_site: Path, new_site: Path) -> list[str]:
    """Why the new copy does not extend the old one (empty when it does)."""
    old_links, old_heads = read(old_site)
    new_links, new_heads = read(new_site)
    problems = []
    broken = history.compare(old_links, new_links)
    if broken:
        problems.append(broken)
    if new_heads[:len(old_heads)] != old_heads:
        problems.append("新版的 heads.json 没有原样保留旧版的全部发布记录：发布历史被改写")
    for label, links, heads in (("旧版", old_links, old_heads), ("新版", new_links, new_heads)):
        by_seq = {link.seq: link.hash for link in links}
        for h in heads:
            if h["seq"] and by_seq.get(h["seq"]) != h["hash"]:
                problems.append(f"{label} heads.json 中第 {h['seq']} 条的哈希与该版公开历史不符")
                break
    return problems
