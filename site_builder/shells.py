"""Page shells: MkDocs renders one placeholder page per kind, and every generated page is stamped from it.

Material renders the whole theme (header, navigation, footer) around each page, which costs several
milliseconds a page; for 14,000 village pages that dominates the build. Generated pages are raw HTML
bodies, which Python-Markdown passes through unchanged, so the page MkDocs would render is the shell
with its placeholders replaced. ``test_stamped_pages_are_what_mkdocs_renders_page_by_page`` in
``tests/test_site_build.py`` builds the same pages both ways and compares them byte for byte.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

TITLE = "XFJYTITLE"
DESCRIPTION = "XFJYDESCRIPTION"
CODE = "XFJYCODE"
YEAR = "XFJYYEAR"
H1 = "<h1>XFJYH1</h1>"
BODY = "<!--XFJYBODY-->"
SHELLS = {"village": f"village/{CODE}.md", "area": f"area/{CODE}.md", "areas": "area/index.md",
          "village_year": f"village/{CODE}/{YEAR}.md", "area_year": f"area/{CODE}/{YEAR}.md"}
UNSEARCHED = ("village_year", "area_year")  # 年度报告 pages: not in the search index
NO_SEARCH = "search:\n  exclude: true\n"


def shell_markdown(title: str = TITLE, description: str = DESCRIPTION, search: bool = True) -> str:
    """The source of a shell. The placeholder h1 stops Material from adding its own (the body has one)."""
    return f"---\ntitle: {title}\ndescription: {description}\n{'' if search else NO_SEARCH}---\n\n{H1}\n\n{BODY}\n"


def page_markdown(page) -> str:
    """The Markdown MkDocs would be given for ``page`` (front matter as JSON strings, which YAML reads)."""
    title = json.dumps(page.title, ensure_ascii=False)
    description = json.dumps(page.description, ensure_ascii=False)
    return f"---\ntitle: {title}\ndescription: {description}\n{'' if page.search else NO_SEARCH}---\n\n{page.body}\n"


@dataclass
class Shell:
    html: str

    def __post_init__(self):
        start, end = self.html.index(H1), self.html.index(BODY) + len(BODY)
        self.head, self.tail = self.html[:start], self.html[end:]

    def stamp(self, page, code: str = "", year: str = "") -> str:
        """The finished page: placeholders in the theme replaced, the placeholder content replaced by the body."""
        def fill(text: str) -> str:
            filled = text.replace(TITLE, page.title).replace(DESCRIPTION, page.description).replace(CODE, code)
            return filled.replace(YEAR, year) if year else filled

        return fill(self.head) + page.body + fill(self.tail)


@dataclass
class HomeShell:
    """The home page: the hand-written ``content/index.md`` followed by the generated part."""

    html: str

    def stamp(self, body: str) -> str:
        return self.html.replace(BODY, body, 1)
