"""The search index of generated pages: Material's own indexer run over each page's content, so the
stamped pages are found exactly as if MkDocs had rendered them."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pages import Page

_EXCLUDED = re.compile(r"<[a-z][a-z0-9]*\s[^>]*data-search-exclude")


def entries(pages: list[Page]) -> list[dict]:
    """What Material's search plugin would index for these pages (its own code, run on their content).

    Generated bodies put everything after their first ``data-search-exclude`` element out of search,
    so only the part before it is parsed (the tests compare with Material indexing whole pages)."""
    from material.plugins.search.plugin import SearchIndex  # imported on first use: about 0.2 s every CLI start would pay

    index = SearchIndex()
    for page in pages:
        meta = {"title": page.title, "description": page.description}
        cut = _EXCLUDED.search(page.body)
        content = page.body[:cut.start()] if cut else page.body
        index.add_entry_from_context(SimpleNamespace(content=content, toc=[], url=page.url, meta=meta,
                                                     title=page.title))
    return index.entries


def write_index(out: Path, added: list[dict], drop: set[str]) -> None:
    """Replace the entries of the pages in ``drop`` (the shells) in MkDocs' index by ``added``."""
    path = out / "search" / "search_index.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    kept = [e for e in data["docs"] if e["location"].split("#")[0] not in drop]
    data["docs"] = kept + added
    path.write_text(json.dumps(data, separators=(",", ":"), default=str), encoding="utf-8")


def teach_jieba(names: list[str]) -> None:
    """What Material's ``jieba_dict_user`` option does, without a file jieba never closes: every place
    name becomes one word, so a name typed whole into the search box (光明社区) is one term."""
    import jieba  # imported on first use: about 0.2 s every CLI start would pay

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict …" into every publish log
    jieba.initialize()
    known = jieba.dt.FREQ
    for name in names:
        if known.get(name, 0) < 100_000:  # teaching a word twice would shift every other word's odds
            jieba.add_word(name, freq=100_000)
