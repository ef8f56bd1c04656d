"""Domain errors: the admin shows their message in Chinese, the CLI prints it and exits non-zero."""
from __future__ import annotations


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
