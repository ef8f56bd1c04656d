"""Issue 12, item 1: nothing private reaches any published file, the public history included (its bodies
are redacted before they are hashed: a hash chain cannot forget)."""
from __future__ import annotations

import datetime as dt
import gzip

import brotli

from db import history, spending
from db.models import Role
from site_builder import history as site_history
from site_builder.build import build

from .factories import Chain, advance_to, new_project

PHONE, ID_NUMBER = "13812345678", "110101199003071234"


def test_a_payee_with_a_phone_and_an_id_number_reaches_no_published_file(db, tmp_path):
    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item=f"材料费（联系 QQ{PHONE}）",
                                payee=f"供应商 电话{PHONE} 身份证{ID_NUMBER}", amount=500,
                                voucher_no="PZ2024-0001", actor=chain.users[Role.VILLAGE])
    assert history.seal() > 0
    site = tmp_path / "site"
    build(site, attachments=tmp_path / "attachments")
    leaked = [str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()
              and (PHONE.encode() in _bytes(p) or ID_NUMBER.encode() in _bytes(p))]
    assert leaked == []
    published = "".join(link.line() for link in site_history.read(site)[0])
    assert "供应商 电话［已隐去］ 身份证［已隐去］" in published
    assert history.problems() == []


def _bytes(path):
    """A file as published, or what it unpacks to (the region tables, sealed history, siblings)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".br":
        return brotli.decompress(data)
    return data
