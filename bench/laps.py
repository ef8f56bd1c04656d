"""Where one build's time goes: ``python -m bench.laps OUT [--workers N]`` builds the site of
``DATABASE_URL`` into OUT (as ``xfjy build-site`` does) and prints its laps (``BuildResult.timings``),
the wall time and the peak RSS of this process and of its largest child."""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

from db.database import database, open_database
from site_builder.build import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--attachments", default=os.path.join(os.environ.get("XFJY_INSTANCE", "instance"), "attachments"))
    args = parser.parse_args()
    database.initialize(open_database(os.environ["DATABASE_URL"]))
    start = time.perf_counter()
    result = build(args.out, base_url="https://xfjy.example.org/", attachments=args.attachments, workers=args.workers)
    print(json.dumps({"laps_s": result.timings, "wall_s": round(time.perf_counter() - start, 1),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "largest_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
