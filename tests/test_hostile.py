"""The hostile-input corpus (``tests/hostile/``, written by ``python -m tests.hostile.make``): every import
and upload in it is refused whole, with a message that says what is wrong, and writes nothing."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from db import attachments, imports
from db.errors import AttachmentError, DataImportError
from db.models import Area, Attachment, Donation, Entry, ImportRun, Village
from db.villages import create_project

from .factories import Chain, advance_to
from .hostile.make import DRAFT, PROJECT

HOSTILE = Path(__file__).parent / "hostile"
with open(HOSTILE / "cases.csv", encoding="utf-8") as _handle:
    CASES = list(csv.DictReader(_handle))


def test_the_corpus_is_large_and_is_what_its_script_writes(tmp_path):
    from .hostile import make

    assert len(CASES) >= 60
    make.main(tmp_path)
    for case in [{"kind": ".", "file": "cases.csv"}, *CASES]:
        path = Path(case["kind"]) / case["file"]
        assert (tmp_path / path).read_bytes() == (HOSTILE / path).read_bytes(), path


def _counts():
    return tuple(m.select().count() for m in (Donation, Entry, ImportRun, Village, Area, Attachment))


@pytest.fixture
def projects(db):
    chain = Chain()
    project, _ = create_project(chain.village, name="敌意测试项目", target=1_000_000, starts_on=dt.date(2024, 3, 1),
                                ends_on=dt.date(2024, 8, 31), code=PROJECT)
    advance_to(project, "fundraising", chain)
    create_project(chain.village, name="草稿项目", target=1_000_000, starts_on=dt.date(2024, 3, 1),
                   ends_on=dt.date(2024, 8, 31), code=DRAFT)
    return chain


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] != "upload"], ids=lambda c: c["file"])
def test_a_hostile_import_is_refused_whole_and_says_why(projects, case):
    data = (HOSTILE / case["kind"] / case["file"]).read_bytes()
    run = imports.import_donations if case["kind"] == "donations" else imports.import_villages
    before = _counts()
    with pytest.raises(DataImportError) as info:
        run(data, case["file"])
    messages = [str(p) for p in info.value.problems]
    assert any(case["expected"] in m for m in messages), messages
    assert _counts() == before


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "upload"], ids=lambda c: c["file"])
def test_a_hostile_upload_is_refused_and_stores_nothing(db, tmp_path, case):
    data = (HOSTILE / "upload" / case["file"]).read_bytes()
    with pytest.raises(AttachmentError) as info:
        attachments.store(tmp_path, data, case["file"])
    assert case["expected"] in str(info.value), str(info.value)
    assert Attachment.select().count() == 0 and list(tmp_path.iterdir()) == []
