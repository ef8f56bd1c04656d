"""Lighthouse scores of the public site, the median of several runs per page (issue 14; docs/quality.md).

    npm install --prefix .venv/lighthouse lighthouse@12         # once; it runs on Debian's Chromium
    python -m bench.quality http://127.0.0.1:8000 [--runs 3]    # a site served by `xfjy serve`

Lighthouse runs at its default settings (mobile, simulated slow 4G and a 4× slower CPU) against the
home page, the first 盟市 page, the first village page of the sitemap, and 捐赠查询. It prints one line
per page: performance, accessibility, best practices, SEO and the largest contentful paint, each the
median of ``--runs`` runs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from .proc import ROOT

LIGHTHOUSE = ROOT / ".venv" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def pages(site: str) -> dict[str, str]:
    """The four kinds of page, the area and village taken from the site's own sitemap."""
    sitemap = urllib.request.urlopen(f"{site}/sitemap.xml").read().decode()
    locations = re.findall(r"<loc>[^<]*?/((?:area|village)/\d+/)</loc>", sitemap)
    area = next(p for p in locations if p.startswith("area/"))
    village = next(p for p in locations if p.startswith("village/"))
    return {"首页": "/", "盟市": f"/{area}", "村社": f"/{village}", "捐赠查询": "/gift/"}


def run(url: str, lighthouse: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([str(lighthouse), url, "--quiet", "--output=json", f"--output-path={report}",
                        "--chrome-flags=--headless=new --no-sandbox"],
                       check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
                       timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.loads(report.read_text())
    scores = {name: data["categories"][name]["score"] * 100 for name in CATEGORIES}
    scores["lcp"] = data["audits"]["largest-contentful-paint"]["numericValue"] / 1000
    scores["version"] = data["lighthouseVersion"]
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality")
    parser.add_argument("site", help="the served site, e.g. http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lighthouse", type=Path, default=LIGHTHOUSE)
    args = parser.parse_args(argv)
    if not args.lighthouse.exists():
        print(f"{args.lighthouse} is missing: npm install --prefix .venv/lighthouse lighthouse@12", file=sys.stderr)
        return 1
    site = args.site.rstrip("/")
    print("| page | performance | accessibility | best practices | SEO | LCP |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, path in pages(site).items():
        runs = [run(site + path, args.lighthouse) for _ in range(args.runs)]
        median = {key: statistics.median(r[key] for r in runs) for key in (*CATEGORIES, "lcp")}
        print(f"| {name} `{path}` | " + " | ".join(f"{median[key]:.0f}" for key in CATEGORIES)
              + f" | {median['lcp']:.1f} s |", flush=True)
    print(f"Lighthouse {runs[-1]['version']}, median of {args.runs} runs per page", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
