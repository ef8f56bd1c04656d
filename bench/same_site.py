"""Is the published demo site the same after a change of structure? (issue 13)

    python -m bench.same_site build DIR [--villages 300] [--seed 5]   # demo → build-site, digests in DIR
    python -m bench.same_site compare OLD_DIR NEW_DIR                 # exit 1 if any file differs

``build`` makes a fresh instance in DIR, fills it with ``xfjy demo``, builds the public site with
``xfjy build-site`` and writes ``DIR/digests.json`` (SHA-256 of every file). Run it on the commit before
a restructuring and on the one after, then ``compare``: the demo's data and the site built from it
must not change. The clock is set by ``XFJY_NOW`` so that the dates the demo and the site compute from
"today" agree between the two runs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from . import proc

MOMENT = "2026-06-30T12:00:00"


def build(out: Path, villages: int, seed: int) -> int:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    env = {**os.environ, "XFJY_INSTANCE": str(out / "instance"), "XFJY_NOW": MOMENT,
           "DATABASE_URL": f"sqlite:///{out / 'instance' / 'xfjy.sqlite3'}"}
    for args in (["init-db"], ["load-regions"], ["demo", "--villages", str(villages), "--seed", str(seed)],
                 ["build-site", "--out", str(out / "site")]):
        outcome = proc.xfjy(*args, env=env, timeout=1800)
        if not outcome.ok:
            print(f"xfjy {' '.join(args)} failed: {outcome.failure()}", file=sys.stderr)
            return 1
    digests = {str(p.relative_to(out / "site")): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted((out / "site").rglob("*")) if p.is_file()}
    (out / "digests.json").write_text(json.dumps(digests, indent=0, sort_keys=True))
    print(f"{len(digests)} files in {out / 'site'}")
    return 0


def compare(old: Path, new: Path) -> int:
    a = json.loads((old / "digests.json").read_text())
    b = json.loads((new / "digests.json").read_text())
    differing = sorted(set(a) ^ set(b)) + sorted(k for k in set(a) & set(b) if a[k] != b[k])
    for name in differing[:40]:
        print(("only in old: " if name not in b else "only in new: " if name not in a else "differs: ") + name)
    print(f"{len(a)} and {len(b)} files, {len(differing)} differ")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.same_site")
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("build")
    made.add_argument("out", type=Path)
    made.add_argument("--villages", type=int, default=300)
    made.add_argument("--seed", type=int, default=5)
    compared = commands.add_parser("compare")
    compared.add_argument("old", type=Path)
    compared.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args.out, args.villages, args.seed)
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
