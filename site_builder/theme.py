"""The theme pass: one MkDocs build of the hand-written pages and of one shell per kind of generated page.

Material renders its theme (header, navigation, footer) around each shell; every generated page is
then stamped from the shell of its kind (``shells.py``) instead of being rendered by MkDocs.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.utils import get_build_date

from . import shells
from .errors import BuildError
from .output import write

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
CONFIG = ROOT / "mkdocs.yml"

# The code and templates a page's bytes depend on besides its data: a change to any of them renders
# every village again in an incremental build.
OUTPUT_CODE = ("site_builder", "db/public.py", "db/published.py", "db/snapshot.py", "db/disclosures.py", "db/text.py",
               "db/money.py", "db/totals.py", "db/volunteers.py", "db/annual.py")

CDN_SCRIPTS = (
    # Material's bundle fetches these only for Mermaid diagrams (the site has none) and for browsers
    # without ResizeObserver (before Chrome 64); no address outside the site may remain in the output.
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js",
    "https://unpkg.com/resize-observer-polyfill",
)


@dataclass(frozen=True)
class Shells:
    """The themed pages every generated page is stamped from."""

    village: shells.Shell
    area: shells.Shell
    areas: shells.Shell
    home: shells.HomeShell
    village_year: shells.Shell  # a village's 年度报告 (village/<code>/<year>/)
    area_year: shells.Shell     # an area's (area/<code>/<year>/)


def themed(docs: Path, out: Path, base_url: str, config_file: Path) -> Shells:
    """Build ``docs`` with a shell per kind of page; the shells are taken out of the output again."""
    index_md = docs / "index.md"
    intro = index_md.read_text(encoding="utf-8") if index_md.exists() else "# 首页\n"
    write(index_md, intro.rstrip("\n") + f"\n\n{shells.BODY}\n")
    for name, path in shells.SHELLS.items():
        title = "各地公示" if name == "areas" else shells.TITLE
        write(docs / path, shells.shell_markdown(title=title, search=name not in shells.UNSEARCHED))
    mkdocs(docs, out, base_url, config_file)
    village_year = shells.Shell(_take(out / "village" / shells.CODE / shells.YEAR))  # inside the village shell's folder
    area_year = shells.Shell(_take(out / "area" / shells.CODE / shells.YEAR))
    return Shells(village=shells.Shell(_take(out / "village" / shells.CODE)),
                  area=shells.Shell(_take(out / "area" / shells.CODE)),
                  areas=shells.Shell((out / "area" / "index.html").read_text(encoding="utf-8")),
                  home=shells.HomeShell((out / "index.html").read_text(encoding="utf-8")),
                  village_year=village_year, area_year=area_year)


def _take(folder: Path) -> str:
    """Read a shell page and remove it from the output."""
    text = (folder / "index.html").read_text(encoding="utf-8")
    shutil.rmtree(folder)
    return text


def fingerprint(docs: Path, base_url: str) -> str:
    """Everything besides a village's own data that its files depend on: the theme's sources, the code
    and templates that render it, the versions of MkDocs and Material, the address and the day."""
    digest = hashlib.sha256(f"{base_url}|{get_build_date()}|{version('mkdocs')}|{version('mkdocs-material')}".encode())
    files = [(docs, p) for p in sorted(docs.rglob("*")) if p.is_file()]
    for name in OUTPUT_CODE:
        path = ROOT / name
        code = sorted(p for p in path.rglob("*") if p.suffix in (".py", ".html", ".md")) if path.is_dir() else [path]
        files += [(ROOT, p) for p in code]
    for base, path in files:
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def no_cdn(out: Path) -> None:
    """Point Material's scripts from a CDN at nothing, and drop the source maps."""
    for script in (out / "assets" / "javascripts").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        cleaned = text
        for address in CDN_SCRIPTS:
            cleaned = cleaned.replace(address, "data:text/javascript,")
        if cleaned != text:
            script.write_text(cleaned, encoding="utf-8")
    for source_map in (out / "assets").rglob("*.map"):
        source_map.unlink()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def mkdocs(docs: Path, out: Path, base_url: str, config_file: Path) -> None:
    """One MkDocs build; any warning (a broken Markdown link, a bad page) fails it, like ``--strict``."""
    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    try:
        config = load_config(config_file=str(config_file), docs_dir=str(docs), site_dir=str(out),
                             site_url=base_url or None)
        config.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(config)
        finally:
            config.plugins.on_shutdown()
    finally:
        logger.removeHandler(collect)
    if collect.messages:
        raise BuildError("网站生成出现问题：" + "；".join(collect.messages[:5]))
