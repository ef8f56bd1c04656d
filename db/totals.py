"""The money figures the admin dashboard and the public site both show, computed once, here."""
from __future__ import annotations

from dataclasses import dataclass

from peewee import Select, fn

from .bulk import insert_rows
from .database import database, write_transaction
from .jurisdiction import holds_every_village
from .ledger import SIGNED_AMOUNT, disbursed_from, hold_ledger, special_account
from .models import Account, AccountTally, Area, Entry, LedgerTally, Project, Village


@dataclass
class Totals:
    raised: int = 0       # donations, net of refunds and reversals
    matched: int = 0      # 配捐 into the village's project account
    rewarded: int = 0     # 以奖代补 into the village's 互助基金
    disbursed: int = 0    # arrived at the village's project account
    spent: int = 0
    to_fund: int = 0      # unmet or surplus money moved to the 互助基金
    from_project_to_fund: int = 0

    @property
    def balance(self) -> int:
        """What the villages still hold for their projects."""
        return self.disbursed + self.matched - self.spent - self.from_project_to_fund

    @property
    def upstream(self) -> int:
        """Raised but not yet passed down to the village (held by 中华慈善总会 or a federation)."""
        return self.raised - self.disbursed - (self.to_fund - self.from_project_to_fund)

    @property
    def unused(self) -> int:
        """Everything the project's accounts still hold, at every level."""
        return self.upstream + self.balance


def add_flow(totals: Totals, kind: str, source_kind: str, target_kind: str, net: int) -> None:
    """Count one net flow (an entry kind between two kinds of account) into ``totals``; a reversal of
    a hop down is read in the direction of the hop (``xfjy audit-site`` reads the open data this way)."""
    if kind == "disbursement" and source_kind == "project":
        source_kind, target_kind = target_kind, source_kind
    if kind == "donation":
        totals.raised += net
    elif kind == "refund":
        totals.raised -= net
    elif kind == "matching":
        totals.matched += net
    elif kind == "reward":
        totals.rewarded += net
    elif kind == "disbursement" and target_kind == "project":
        totals.disbursed += net
    elif kind == "expenditure":
        totals.spent += net
    elif kind == "to_fund":
        totals.to_fund += net
        if "project" in (source_kind, target_kind):
            totals.from_project_to_fund += net


def _flows(project_ids=None, area: Area | None = None, by_project: bool = False):
    """Net amounts grouped by (project,) entry kind and the kinds of the two accounts.

    One statement reads the tally and the entries after it, so a concurrent ``advance_tally`` is
    seen either wholly or not at all."""
    Source, Target = Account.alias(), Account.alias()
    mark = LedgerTally.select(fn.COALESCE(fn.MAX(LedgerTally.through), 0))
    recent = (Entry.select(Entry.project.alias("project"), Entry.kind.alias("kind"), Source.kind.alias("source_kind"),
                           Target.kind.alias("target_kind"), SIGNED_AMOUNT.alias("net"))
              .join_from(Entry, Source, on=(Entry.from_account == Source.id))
              .join_from(Entry, Target, on=(Entry.to_account == Target.id))
              .where(Entry.id > mark)
              .group_by(Entry.project, Entry.kind, Source.kind, Target.kind))
    tallied = LedgerTally.select(LedgerTally.project.alias("project"), LedgerTally.kind, LedgerTally.source_kind,
                                 LedgerTally.target_kind, LedgerTally.net)
    projects = project_ids
    if area is not None and not holds_every_village(area):
        villages = Village.select(Village.id).join(Area).where(Area.path.startswith(area.path))
        projects = Project.select(Project.id).where(Project.village.in_(villages))
    if projects is not None:
        recent = recent.where(Entry.project.in_(projects))
        tallied = tallied.where(LedgerTally.project.in_(projects))
    elif by_project:
        recent = recent.where(Entry.project.is_null(False))
        tallied = tallied.where(LedgerTally.project.is_null(False))
    both = tallied.union_all(recent).alias("flows")
    keys = [both.c.kind, both.c.source_kind, both.c.target_kind]
    if by_project:
        keys.insert(0, both.c.project)
    query = Select(from_list=[both], columns=[*keys, fn.SUM(both.c.net)]).group_by(*keys)
    for row in query.bind(database).tuples():
        *key, kind, source_kind, target_kind, net = row
        yield (key[0] if key else None), kind, source_kind, target_kind, int(net or 0)


def totals(project_ids=None, area: Area | None = None) -> Totals:
    """Totals over some projects, or over every project in ``area``'s subtree.

    A reversal counts negative under its original's kind, whichever direction it runs."""
    result = Totals()
    for _, kind, source_kind, target_kind, net in _flows(project_ids, area):
        add_flow(result, kind, source_kind, target_kind, net)
    return result


def totals_by_project(project_ids=None) -> dict[int, Totals]:
    """Totals of each project in one grouped query (the public site's village pages)."""
    result: dict[int, Totals] = {}
    for project_id, kind, source_kind, target_kind, net in _flows(project_ids, by_project=True):
        add_flow(result.setdefault(project_id, Totals()), kind, source_kind, target_kind, net)
    return result


def advance_tally() -> int:
    """Fold the entries posted since the last checkpoint into ``LedgerTally``; returns how many.

    Run by every publish, after the demo and after a donation import, so that reads add up at
    most a day's entries. Holds the ledger lock, so every entry up to the new mark is committed."""
    with write_transaction():
        hold_ledger()
        mark = LedgerTally.select(fn.COALESCE(fn.MAX(LedgerTally.through), 0)).scalar()
        top = Entry.select(fn.COALESCE(fn.MAX(Entry.id), 0)).scalar()
        if top <= mark:
            _advance_accounts(top)  # a database just given AccountTally (migration 016) is filled here
            return 0
        Source, Target = Account.alias(), Account.alias()
        sums: dict[tuple, int] = {}
        for project, kind, source_kind, target_kind, net in LedgerTally.select(
                LedgerTally.project, LedgerTally.kind, LedgerTally.source_kind, LedgerTally.target_kind,
                LedgerTally.net).tuples():
            sums[project, kind, source_kind, target_kind] = net
        added = (Entry.select(Entry.project, Entry.kind, Source.kind, Target.kind, SIGNED_AMOUNT, fn.COUNT(Entry.id))
                 .join_from(Entry, Source, on=(Entry.from_account == Source.id))
                 .join_from(Entry, Target, on=(Entry.to_account == Target.id))
                 .where((Entry.id > mark) & (Entry.id <= top))
                 .group_by(Entry.project, Entry.kind, Source.kind, Target.kind))
        folded = 0
        for project, kind, source_kind, target_kind, net, count in added.tuples():
            key = (project, kind, source_kind, target_kind)
            sums[key] = sums.get(key, 0) + int(net)
            folded += count
        LedgerTally.delete().execute()
        insert_rows(LedgerTally, ("project", "kind", "source_kind", "target_kind", "net", "through"),
                    ((*key, net, top) for key, net in sorted(sums.items(), key=lambda item: repr(item[0]))))
        _advance_accounts(top)
    return folded


def account_mark() -> int:
    """The last entry ``AccountTally`` holds (0 before the first checkpoint)."""
    return AccountTally.select(fn.COALESCE(fn.MAX(AccountTally.through), 0)).scalar()


def _account_sums(low: int, high: int) -> dict[int, int]:
    """Each internal account's net of the entries numbered ``low`` (exclusive) to ``high``."""
    sums: dict[int, int] = {}
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        for account, total in (Entry.select(column, fn.SUM(Entry.amount)).join(Account, on=(column == Account.id))
                               .where((Entry.id > low) & (Entry.id <= high) & Account.kind.not_in(Account.EXTERNAL))
                               .group_by(column).tuples()):
            sums[account] = sums.get(account, 0) + sign * int(total)
    return sums


def _advance_accounts(top: int) -> None:
    mark = account_mark()
    if top <= mark:
        return
    sums = dict(AccountTally.select(AccountTally.account, AccountTally.net).tuples())
    for account, net in _account_sums(mark, top).items():
        sums[account] = sums.get(account, 0) + net
    AccountTally.delete().execute()
    insert_rows(AccountTally, ("account", "net", "through"), ((a, n, top) for a, n in sorted(sums.items())))


def tally_problems() -> list[str]:
    """Differences between the tally and the entries it sums (an auditor's check of the cache)."""
    mark = LedgerTally.select(fn.COALESCE(fn.MAX(LedgerTally.through), 0)).scalar()
    Source, Target = Account.alias(), Account.alias()
    fresh = {(p, k, s, t): int(n) for p, k, s, t, n in (
        Entry.select(Entry.project, Entry.kind, Source.kind, Target.kind, SIGNED_AMOUNT)
        .join_from(Entry, Source, on=(Entry.from_account == Source.id))
        .join_from(Entry, Target, on=(Entry.to_account == Target.id))
        .where(Entry.id <= mark).group_by(Entry.project, Entry.kind, Source.kind, Target.kind).tuples())}
    tallied = {(p, k, s, t): n for p, k, s, t, n in LedgerTally.select(
        LedgerTally.project, LedgerTally.kind, LedgerTally.source_kind, LedgerTally.target_kind,
        LedgerTally.net).tuples()}
    problems = [f"汇总缓存与分录不符：项目 {key[0]}，{key[1]}，缓存 {tallied.get(key, 0)} 分，分录 {fresh.get(key, 0)} 分"
                for key in sorted(set(fresh) | set(tallied), key=repr) if fresh.get(key, 0) != tallied.get(key, 0)]
    fresh = _account_sums(0, account_mark())
    tallied = dict(AccountTally.select(AccountTally.account, AccountTally.net).tuples())
    return problems + [f"账户余额缓存与分录不符：账户 {a}，缓存 {tallied.get(a, 0)} 分，分录 {fresh.get(a, 0)} 分"
                       for a in sorted(set(fresh) | set(tallied)) if fresh.get(a, 0) != tallied.get(a, 0)]


def add_up(items) -> Totals:
    """The sum of several projects' totals (a village, a county, the region)."""
    result = Totals()
    for item in items:
        for name in Totals.__dataclass_fields__:
            setattr(result, name, getattr(result, name) + getattr(item, name))
    return result


def project_totals(project: Project) -> Totals:
    return totals([project.id])


def project_raised(project: Project) -> int:
    """Donations into this project, net of refunds and reversals: what decides 目标达成."""
    def net(kind):
        query = Entry.select(fn.COALESCE(SIGNED_AMOUNT, 0)).where((Entry.project == project) & (Entry.kind == kind))
        return int(query.scalar())

    return net("donation") - net("refund")


def passed_down(project: Project) -> int:
    """What 中华慈善总会 has passed down for this project so far (net of reversed hops)."""
    return disbursed_from(special_account(project))
