"""site_builder/opendata.py: the open data's CSV cells cannot run in Excel (issue 12, item 3)."""
from __future__ import annotations

import csv
import re

from db import donations
from site_builder.build import build
from site_builder.opendata import open_region


def test_open_data_csv_cells_cannot_run_as_formulas(db, tmp_path):
    """Issue 12: the CSVs are made for Excel; what donors and staff type must not run in it."""
    import datetime as dt

    from db import spending
    from db.models import Donation, Role

    from .factories import Chain, advance_to, new_project

    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    gift = Donation.create(project=project, txn_no="FORMULA-1", donor_name="@SUM(1+1)", name_consent="full",
                           amount=1_000, donated_at=dt.datetime(2024, 5, 1, 9), message='=HYPERLINK("http://evil","点我")')
    donations.receive_donation(gift)
    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item=" =HYPERLINK(1)",
                                payee="+cmd|' /C calc'!A0", amount=500, actor=chain.users[Role.VILLAGE])
    site = tmp_path / "site"
    build(site, attachments=tmp_path / "attachments")
    cells = []
    for name in ("donations", "spending", "ledger"):
        with open_region(site, name) as handle:
            cells += [cell for row in csv.reader(handle) for cell in row]
        with open(site / "data" / "village" / chain.village.area.code / f"{name}.csv", encoding="utf-8-sig",
                  newline="") as handle:
            cells += [cell for row in csv.reader(handle) for cell in row]
    starts = [c for c in cells if c.lstrip(" ")[:1] in ("=", "+", "@") or (c[:1] == "-" and not re.fullmatch(r"-[\d.]+", c))]
    assert starts == []
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in cells and "'@SUM(1+1)" in cells and "'+cmd|' /C calc'!A0" in cells
    assert "10.00" in cells  # amounts stay numbers
