"""The sitemap: MkDocs' own, without the shells, with every stamped page listed in the same form."""
from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from mkdocs.utils import get_build_date

from . import shells


def write(out: Path, urls: list[str]) -> None:
    """``sitemap.xml`` and ``sitemap.xml.gz`` listing ``urls`` besides MkDocs' own pages."""
    path = out / "sitemap.xml"
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    blocks = text.split("<url>")
    head, items = blocks[0], [b for b in blocks[1:] if shells.CODE not in b]
    tail = items[-1].split("</url>", 1)[1] if items else "\n</urlset>"
    items = [b.split("</url>", 1)[0] + "</url>" for b in items]
    template = next((b for b in blocks[1:] if f"village/{shells.CODE}/</loc>" in b), None)
    if template is None:  # no site_url: MkDocs lists no pages
        return
    template = template.split("</url>", 1)[0] + "</url>"
    listed = {b.split("<loc>")[1].split("</loc>")[0] for b in items}
    for url in urls:
        block = template.replace(f"village/{shells.CODE}/", url)
        if block.split("<loc>")[1].split("</loc>")[0] not in listed:
            items.append(block)
    text = head + "".join("<url>" + b for b in items) + tail
    path.write_text(text, encoding="utf-8")
    with open(out / "sitemap.xml.gz", "wb") as raw, gzip.GzipFile(
            fileobj=raw, filename="sitemap.xml", mode="wb", mtime=_build_timestamp()) as compressed:
        compressed.write(text.encode("utf-8"))


def _build_timestamp() -> int:
    """Midnight (UTC) of the build date, so that two builds of one day write the same bytes."""
    day = dt.datetime.strptime(get_build_date(), "%Y-%m-%d").replace(tzinfo=dt.UTC)
    return int(day.timestamp())
