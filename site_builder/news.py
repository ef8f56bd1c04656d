"""信息简报: the hand-written news posts in ``content/news/``, listed on the home page and the news index."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from mkdocs.utils.meta import get_data

from .errors import BuildError


@dataclass(frozen=True)
class NewsItem:
    slug: str
    title: str
    date: dt.date


def news_items(content: Path) -> list[NewsItem]:
    """信息简报 in ``content/news/``, newest first; each file has ``title`` and ``date`` front matter."""
    items = []
    for path in sorted((content / "news").glob("*.md")):
        if path.name == "index.md":
            continue
        _, meta = get_data(path.read_text(encoding="utf-8"))
        if "date" not in meta or "title" not in meta:
            raise BuildError(f"信息简报 {path.name} 缺少 title 或 date")
        items.append(NewsItem(path.stem, str(meta["title"]), meta["date"]))
    return sorted(items, key=lambda n: (n.date, n.slug), reverse=True)
