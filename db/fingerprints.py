"""A digest per village of what its public files are made from: an incremental build renders again
only the villages whose digest changed."""
from __future__ import annotations

import hashlib

from peewee import fn

from .bulk import raw_rows
from .models import (
    Account,
    Attachment,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    FundSpending,
    ProjectReview,
    ServiceRecord,
    SupervisionOpinion,
    SupervisoryMember,
    Volunteer,
)
from .published import Snapshot


def fingerprints(snap: Snapshot) -> dict[int, str]:
    """A digest per village of everything its page, poster and open data are made from.

    In-memory facts (names, places, projects with their totals and texts, the 年度报告 figures) go in
    whole; the heavy tables go in as per-project aggregates (count, last id, sums of amounts and of
    text lengths), which change with every added, reversed or edited row that the village's files show."""
    projects = [p.id for v in snap.villages for p in v.projects]
    per_project: dict[int, list] = {pid: [] for pid in projects}
    length = fn.LENGTH
    queries = [
        Donation.select(Donation.project, fn.COUNT(Donation.id), fn.MAX(Donation.id), fn.SUM(Donation.amount),
                        fn.SUM(length(Donation.donor_name) + length(Donation.message) + length(Donation.name_consent)),
                        fn.MAX(Donation.donated_at)).group_by(Donation.project),
        Entry.select(Entry.project, fn.COUNT(Entry.id), fn.MAX(Entry.id)).where(Entry.project.is_null(False))
        .group_by(Entry.project),
        Expenditure.select(Expenditure.project, fn.COUNT(Expenditure.id), fn.MAX(Expenditure.id),
                           fn.SUM(Expenditure.amount),
                           fn.SUM(length(Expenditure.item) + length(Expenditure.payee) + length(Expenditure.voucher_no)),
                           fn.MAX(Expenditure.spent_on), fn.MIN(Expenditure.spent_on)).group_by(Expenditure.project),
        Disclosure.select(Disclosure.project, fn.COUNT(Disclosure.id), fn.MAX(Disclosure.id)).group_by(Disclosure.project),
        Attachment.select(Expenditure.project, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                          fn.SUM(Attachment.published.cast("integer"))).join(Expenditure).group_by(Expenditure.project),
        Attachment.select(Disclosure.project, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                          fn.SUM(Attachment.published.cast("integer"))).join(Disclosure).group_by(Disclosure.project),
        ProjectReview.select(ProjectReview.project, fn.COUNT(ProjectReview.id), fn.MAX(ProjectReview.id))
        .group_by(ProjectReview.project),
        Evaluation.select(Evaluation.project, fn.COUNT(Evaluation.id), fn.MAX(Evaluation.id)).group_by(Evaluation.project),
        SupervisionOpinion.select(SupervisionOpinion.project, fn.COUNT(SupervisionOpinion.id), fn.MAX(SupervisionOpinion.id))
        .where(SupervisionOpinion.public).group_by(SupervisionOpinion.project),
    ]
    for index, query in enumerate(queries):
        for row in raw_rows(query):
            if row[0] in per_project:
                per_project[row[0]].append((index, *[str(x) for x in row[1:]]))
    volunteers = {vid: [] for vid in (v.id for v in snap.villages)}
    for vid, count in raw_rows(Volunteer.select(Volunteer.village, fn.COUNT(Volunteer.id)).group_by(Volunteer.village)):
        volunteers.setdefault(vid, []).append(("v", count))
    for vid, minutes in raw_rows(ServiceRecord.select(Volunteer.village, fn.SUM(ServiceRecord.minutes)).join(Volunteer)
                             .group_by(Volunteer.village)):
        volunteers.setdefault(vid, []).append(("m", str(minutes)))
    for vid, *figures in raw_rows(SupervisoryMember.select(
            SupervisoryMember.village, fn.COUNT(SupervisoryMember.id), fn.MAX(SupervisoryMember.id),
            fn.SUM(length(SupervisoryMember.name) + length(SupervisoryMember.title))).group_by(SupervisoryMember.village)):
        volunteers.setdefault(vid, []).append(("s", *map(str, figures)))
    for vid, *figures in raw_rows(FundSpending.select(FundSpending.village, fn.COUNT(FundSpending.id), fn.MAX(FundSpending.id))
                              .group_by(FundSpending.village)):
        volunteers.setdefault(vid, []).append(("f", *map(str, figures)))
    village_of_area = {v.area_id: v.id for v in snap.villages}
    for column in (Entry.from_account, Entry.to_account):  # fund entries of no project: payments, their reversals
        for area, *figures in raw_rows(Entry.select(Account.area, fn.COUNT(Entry.id), fn.MAX(Entry.id))
                                   .join(Account, on=(column == Account.id))
                                   .where(Entry.project.is_null() & (Account.kind == "fund")).group_by(Account.area)):
            if area in village_of_area:
                volunteers.setdefault(village_of_area[area], []).append(("e", *map(str, figures)))
    for vid, *figures in raw_rows(Attachment.select(FundSpending.village, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                                                fn.SUM(Attachment.published.cast("integer"))).join(FundSpending)
                              .group_by(FundSpending.village)):
        volunteers.setdefault(vid, []).append(("a", *map(str, figures)))
    places = snap.places
    years = snap.annual
    result = {}
    for v in snap.villages:
        parts = [repr(v), repr([places[i] for i in (v.township_id, v.county_id, v.prefecture_id)]),
                 repr(volunteers.get(v.id))]
        parts += [repr(per_project[p.id]) for p in v.projects]
        if years is not None:  # its 年度报告 pages and rows, whole
            parts += [repr(years.by_area.get(v.code)), repr([years.projects.get(p.id) for p in v.projects])]
        result[v.id] = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return result
