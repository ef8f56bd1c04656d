"""Domain errors: the admin shows their message in Chinese, the CLI prints it and exits non-zero."""
from __future__ import annotations

import errno


class XfjyError(Exception):
    """Base of every rule violation; ``str(error)`` is a message for the user."""


class MoneyError(XfjyError, ValueError):
    """An amount that is not an exact, allowed number of fen."""


class TransitionError(XfjyError):
    """A workflow step that the state or the acting user does not allow."""


class JurisdictionError(XfjyError):
    """The acting user reached for something outside their area."""


class LedgerError(XfjyError):
    """A posting that would break the ledger (overdraft, double reversal, ...)."""


class AttachmentError(XfjyError):
    """An uploaded file of the wrong type or size."""


class StorageFull(XfjyError):
    """The disk holding the database, the attachments or the site is full: nothing of the operation was
    kept, and it can be run again once space is freed."""


FULL = "服务器存储空间已满，本次操作未保存任何内容；请管理员清理磁盘后重试"


def storage_full(exc: BaseException) -> StorageFull | None:
    """``exc`` as a StorageFull when it, or the error it arose from, says the disk is full (OSError
    ENOSPC, SQLite's "database or disk is full", PostgreSQL's "could not extend file"), else None. SQLite
    rolls a full transaction back itself, so the error that reaches the caller is often the failed
    ROLLBACK that followed ("no transaction is active"), with the full disk as its context."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or "disk is full" in text \
                or "No space left" in text or "could not extend file" in text:
            return StorageFull(f"{FULL}（{text.strip().splitlines()[0] if text.strip() else type(exc).__name__}）")
        exc = exc.__cause__ or exc.__context__
    return None


class Problem:
    """One bad cell of an imported file."""

    __slots__ = ("row", "column", "message")

    def __init__(self, row: int | None, column: str | None, message: str):
        self.row, self.column, self.message = row, column, message

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"「{self.column}」列")
        return ("".join(where) + "：" if where else "") + self.message

    def __repr__(self) -> str:
        return f"Problem({self.row!r}, {self.column!r}, {self.message!r})"


class DataImportError(XfjyError):
    """An import refused as a whole; ``problems`` names each bad row and column."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = str(problems[0]) if problems else "文件无法导入"
        more = f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1 else ""
        super().__init__(first + more)
