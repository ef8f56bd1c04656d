"""The builder's one error: a site that cannot be built as it should be, said in Chinese."""
from __future__ import annotations

from db.errors import XfjyError


class BuildError(XfjyError):
    pass
