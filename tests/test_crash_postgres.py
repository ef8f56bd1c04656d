"""The kill tests of tests/test_crash.py on PostgreSQL: a file of their own, so that make test's two workers
(a test file each) run the SQLite and the PostgreSQL halves side by side."""
from __future__ import annotations

import pytest

from .test_crash import build_base
from .test_crash import test_a_kill_at_any_point_leaves_the_state_before_or_after as test_a_kill_at_any_point  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keep_proxy")]


@pytest.fixture(scope="module", params=["postgres"])
def base(request, tmp_path_factory):
    yield from build_base(request.param, tmp_path_factory)
