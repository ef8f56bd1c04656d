"""Writing into the output folder."""
from __future__ import annotations

from pathlib import Path


def write(path: Path, text: str) -> int:
    """Write ``text`` (UTF-8), making the folder when it is missing; returns the number of files (1)."""
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 1
