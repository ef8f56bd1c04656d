"""The tables. Rules about them live in the modules named for each rule (ledger, workflow, ...)."""
from __future__ import annotations

import hashlib

from peewee import (
    SQL,
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DeferredForeignKey,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

from .clock import now
from .database import database
from .errors import LedgerError


class Level:
    """The six levels of the programme, top to bottom."""

    NATION, REGION, PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = range(6)
    NAMES = {0: "全国", 1: "自治区", 2: "盟市", 3: "旗县市区", 4: "乡镇/街道", 5: "村社"}
    FEDERATIONS = {0: "中华慈善总会", 1: "自治区慈善总会", 2: "盟市慈善总会", 3: "旗县市区慈善总会"}


class Role:
    """What a user acts as; each role but admin acts at one level, within one area."""

    VILLAGE, TOWNSHIP, COUNTY, PREFECTURE, REGION, ADMIN = (
        "village", "township", "county", "prefecture", "region", "admin",
    )
    AUDITOR, SUPERVISOR = "auditor", "supervisor"  # read-only: they act at the level of their area
    LEVELS = {VILLAGE: Level.VILLAGE, TOWNSHIP: Level.TOWNSHIP, COUNTY: Level.COUNTY,
              PREFECTURE: Level.PREFECTURE, REGION: Level.REGION, ADMIN: Level.NATION}
    NAMES = {VILLAGE: "村社", TOWNSHIP: "乡镇/街道", COUNTY: "旗县市区慈善总会",
             PREFECTURE: "盟市慈善总会", REGION: "自治区慈善总会", ADMIN: "系统管理员",
             AUDITOR: "审计/检查人员", SUPERVISOR: "监管会成员"}
    ALL = tuple(NAMES)
    READ_ONLY = (AUDITOR, SUPERVISOR)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
        only_save_dirty = True  # an update writes the fields it changed, so two edits of one row both stay


class Area(BaseModel):
    """A node of the area tree, with its official code.

    ``prefecture`` and ``county`` point at the node's ancestors of those levels (or itself), so that
    a filter by 盟市 or 旗县市区 is one indexed equality. 满洲里市 and 二连浩特市 are units of their
    own in the quota table: they sit at the 盟市 level and act as their own 旗县市区.
    """

    code = CharField(max_length=12, unique=True)
    name = CharField(max_length=64)
    level = SmallIntegerField(index=True)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    path = CharField(max_length=96, index=True)
    prefecture = ForeignKeyField("self", null=True, lazy_load=True, column_name="prefecture_id",
                                 backref="+", index=True)
    county = ForeignKeyField("self", null=True, column_name="county_id", backref="+", index=True)
    official = BooleanField(default=True)

    class Meta:
        table_name = "area"

    def __str__(self) -> str:
        return self.name

    @property
    def level_name(self) -> str:
        return Level.NAMES[self.level]

    def contains(self, other: Area) -> bool:
        return other.path.startswith(self.path)


class Batch(BaseModel):
    """A phase of the programme: 探索试点, 稳步推广, 全面实施."""

    code = CharField(max_length=16, unique=True)
    name = CharField(max_length=32)
    starts_on = DateField()
    ends_on = DateField()
    ordinal = SmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class Quota(BaseModel):
    """How many villages a 盟市-level unit is to set up in a batch (附件1)."""

    area = ForeignKeyField(Area, backref="quotas", on_delete="RESTRICT")
    batch = ForeignKeyField(Batch, backref="quotas", on_delete="RESTRICT")
    count = IntegerField()

    class Meta:
        indexes = ((("area", "batch"), True),)


class User(BaseModel):
    username = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=256)
    role = CharField(max_length=16)
    area = ForeignKeyField(Area, backref="users", on_delete="RESTRICT")
    display_name = CharField(max_length=64, default="")
    unit = CharField(max_length=128, default="")
    email = CharField(max_length=254, default="")  # the daily 待办提醒 (xfjy remind); empty: none
    active = BooleanField(default=True)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    last_login_at = DateTimeField(null=True)
    created_at = DateTimeField(default=now)

    class Meta:
        table_name = "users"

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def level(self) -> int:
        """The level the user acts at; a read-only role (auditor, supervisor) sits at its area's."""
        return Role.LEVELS[self.role] if self.role in Role.LEVELS else self.area.level

    # What a session library (Flask-Login) asks of a user.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What a session remembers of its user: the id and a digest of the password hash, so that a
        changed password signs every old session out (``db.users.user_for_session``)."""
        return f"{self.id}.{hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]}"


class Village(BaseModel):
    """A 村社 in the programme; its ``area`` is its own node of the area tree."""

    KINDS = ("村", "嘎查", "社区")

    area = ForeignKeyField(Area, unique=True, backref="village", on_delete="RESTRICT")
    full_name = CharField(max_length=128)
    kind = CharField(max_length=8, default="村")
    address = CharField(max_length=256, default="")
    leader_name = CharField(max_length=32, default="")
    leader_phone = CharField(max_length=32, default="")
    batch = ForeignKeyField(Batch, backref="villages", on_delete="RESTRICT")
    admission_state = CharField(max_length=24, default="draft", index=True)
    fund_established_on = DateField(null=True, index=True)
    created_at = DateTimeField(default=now)

    def __str__(self) -> str:
        return self.full_name


class SupervisoryMember(BaseModel):
    """A member of the village's 监管会 (supervisory committee)."""

    village = ForeignKeyField(Village, backref="supervisors", on_delete="CASCADE")
    name = CharField(max_length=32)
    title = CharField(max_length=32, default="委员")
    phone = CharField(max_length=32, default="")
    joined_on = DateField(null=True)


class Project(BaseModel):
    """A charity project as declared on 附件2 (慈善公益项目申报表)."""

    code = CharField(max_length=32, unique=True)
    village = ForeignKeyField(Village, backref="projects", on_delete="RESTRICT")
    name = CharField(max_length=128)
    reporting_unit = CharField(max_length=128, default="")
    reported_on = DateField(null=True)
    address = CharField(max_length=256, default="")
    leader_name = CharField(max_length=32, default="")
    leader_phone = CharField(max_length=32, default="")
    target = BigIntegerField()
    starts_on = DateField()
    ends_on = DateField()
    background = TextField(default="")
    summary = TextField(default="")
    democratic_decision = TextField(default="")
    urgent = BooleanField(default=False)
    donation_url = CharField(max_length=256, default="")  # the project's page on the donation platform (https)
    state = CharField(max_length=24, default="draft", index=True)
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name

    @property
    def over_one_year(self) -> bool:
        """附件 rule: a project is in principle done within one year; longer ones are flagged."""
        try:
            limit = self.starts_on.replace(year=self.starts_on.year + 1)
        except ValueError:
            limit = self.starts_on.replace(year=self.starts_on.year + 1, day=28)
        return self.ends_on > limit


class Step(BaseModel):
    """One recorded workflow step: who did what, as which unit, with which opinion."""

    action = CharField(max_length=24)
    from_state = CharField(max_length=24)
    to_state = CharField(max_length=24)
    decision = CharField(max_length=16)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    person = CharField(max_length=64, default="")
    unit = CharField(max_length=128, default="")
    opinion = TextField(default="")
    at = DateTimeField(default=now)


class AdmissionStep(Step):
    village = ForeignKeyField(Village, backref="admission_steps", on_delete="CASCADE")


class ProjectReview(Step):
    project = ForeignKeyField(Project, backref="reviews", on_delete="CASCADE")


class ImportRun(BaseModel):
    """One confirmed import of a file."""

    kind = CharField(max_length=16)
    filename = CharField(max_length=256)
    sha256 = CharField(max_length=64, index=True)
    added = IntegerField(default=0)
    skipped = IntegerField(default=0)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=now)


class Donation(BaseModel):
    CONSENTS = {"none": "不公开", "masked": "部分公开", "full": "公开"}
    CHANNELS = {"online": "网络平台", "offline": "线下", "matching": "配捐", "corporate": "单位捐赠"}
    TIMINGS = {  # when a gift arrived, against its project's fundraising (db.gifts)
        "": "",
        "early": "早于募集开始日期",
        "late": "募捐结束后到账，计入本项目",
        "to_fund": "项目结项后到账，转入村社互助基金",
    }

    project = ForeignKeyField(Project, backref="donations", on_delete="RESTRICT", index=False)
    txn_no = CharField(max_length=64, unique=True)
    donor_name = CharField(max_length=64, default="")
    name_consent = CharField(max_length=8, default="none")
    amount = BigIntegerField()
    channel = CharField(max_length=16, default="online")
    donated_at = DateTimeField(index=True)
    message = TextField(default="")
    timing = CharField(max_length=8, default="")
    import_run = ForeignKeyField(ImportRun, null=True, on_delete="SET NULL", backref="donations")

    class Meta:
        indexes = ((("project", "donated_at"), False),)


class Expenditure(BaseModel):
    """A line of the village's spending of project money."""

    project = ForeignKeyField(Project, backref="expenditures", on_delete="RESTRICT")
    spent_on = DateField(index=True)
    item = CharField(max_length=128)
    payee = CharField(max_length=128)
    amount = BigIntegerField()
    voucher_no = CharField(max_length=64, default="")
    approved_by = CharField(max_length=64, default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)


class FundSpending(BaseModel):
    """A payment out of a village's 互助基金, decided by its 监管会 (``approved_by`` names the members)."""

    village = ForeignKeyField(Village, backref="fund_spending", on_delete="RESTRICT")
    spent_on = DateField(index=True)
    item = CharField(max_length=128)
    payee = CharField(max_length=128)
    amount = BigIntegerField()
    voucher_no = CharField(max_length=64, default="")
    approved_by = CharField(max_length=256)
    approved_on = DateField()
    entry = DeferredForeignKey("Entry", unique=True, backref="+", on_delete="RESTRICT", null=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)

    class Meta:
        table_name = "fund_spending"

    def __str__(self) -> str:
        return self.item


class Disclosure(BaseModel):
    """A 公示 post. A correction is a new row that ``corrects`` the old one and says why."""

    project = ForeignKeyField(Project, backref="disclosures", on_delete="RESTRICT")
    title = CharField(max_length=128)
    period_start = DateField(null=True)
    period_end = DateField(null=True)
    body = TextField(default="")
    published_on = DateField()
    corrects = ForeignKeyField("self", null=True, unique=True, backref="corrections", on_delete="RESTRICT")
    correction_note = TextField(default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)


class SupervisionOpinion(BaseModel):
    """A 监督意见 of a 村社监管会 member on a project: dated, kept as written (no edit, no delete); a
    correction is a new opinion that ``corrects`` the old one. ``public`` ones go on the village page."""

    project = ForeignKeyField(Project, backref="opinions", on_delete="RESTRICT")
    given_on = DateField()
    text = TextField()
    member_name = CharField(max_length=64)
    public = BooleanField(default=False)
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="RESTRICT")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)

    class Meta:
        table_name = "supervision_opinion"


class Attachment(BaseModel):
    """A stored file (receipt, photo, scan), kept under the instance folder by content hash."""

    sha256 = CharField(max_length=64, index=True)
    filename = CharField(max_length=256)
    mime = CharField(max_length=128)  # Word's and Excel's are 65 and 71 characters long
    size = IntegerField()
    expenditure = ForeignKeyField(Expenditure, null=True, backref="attachments", on_delete="RESTRICT")
    disclosure = ForeignKeyField(Disclosure, null=True, backref="attachments", on_delete="RESTRICT")
    fund_spending = ForeignKeyField(FundSpending, null=True, backref="attachments", on_delete="RESTRICT")
    milestone = DeferredForeignKey("Milestone", null=True, backref="attachments", on_delete="RESTRICT")
    training = DeferredForeignKey("Training", null=True, backref="attachments", on_delete="RESTRICT")
    published = BooleanField(default=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)


class Evaluation(BaseModel):
    """验收评估 of a project."""

    RESULTS = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}

    project = ForeignKeyField(Project, backref="evaluations", on_delete="RESTRICT")
    evaluated_on = DateField()
    unit = CharField(max_length=128, default="")
    evaluator = CharField(max_length=64, default="")
    result = CharField(max_length=16)
    score = SmallIntegerField(null=True)
    notes = TextField(default="")


class Volunteer(BaseModel):
    village = ForeignKeyField(Village, backref="volunteers", on_delete="RESTRICT")
    name = CharField(max_length=32)
    phone = CharField(max_length=32, default="")
    skills = CharField(max_length=128, default="")
    joined_on = DateField(null=True)


class ServiceRecord(BaseModel):
    volunteer = ForeignKeyField(Volunteer, backref="services", on_delete="RESTRICT")
    served_on = DateField()
    minutes = IntegerField()
    activity = CharField(max_length=128)


class Account(BaseModel):
    """A place money can be. External accounts (donors, payees, sponsors) may go negative."""

    KINDS = {
        "donors": "社会捐赠",
        "sponsor": "配捐资金来源",
        "payee": "收款方",
        "special": "中华慈善总会专用账户",
        "pass_through": "项目过渡账户",
        "pool": "配捐/以奖代补资金池",
        "project": "村社项目账户",
        "fund": "村社互助基金",
    }
    EXTERNAL = ("donors", "sponsor", "payee")

    key = CharField(max_length=200, unique=True)
    kind = CharField(max_length=16)
    area = ForeignKeyField(Area, null=True, backref="accounts", on_delete="RESTRICT")
    project = ForeignKeyField(Project, null=True, backref="accounts", on_delete="RESTRICT")
    name = CharField(max_length=128, default="")

    @staticmethod
    def key_for(kind: str, area_id: int | None, project_id: int | None, name: str = "") -> str:
        """One string naming the account, unique even where area or project is empty."""
        return f"{kind}:{area_id or ''}:{project_id or ''}:{name}"

    def __str__(self) -> str:
        return self.name or Account.KINDS[self.kind]

    @property
    def external(self) -> bool:
        return self.kind in Account.EXTERNAL


class MatchingRule(BaseModel):
    """A federation's 配捐 or 以奖代补 rule: a ratio of what a village raised, capped per village."""

    KINDS = {"matching": "配捐", "reward": "以奖代补"}

    area = ForeignKeyField(Area, backref="matching_rules", on_delete="RESTRICT")
    kind = CharField(max_length=16)
    name = CharField(max_length=64)
    ratio_bp = IntegerField()
    cap = BigIntegerField()
    active = BooleanField(default=True)


class Entry(BaseModel):
    """A posted movement of money from one account to another. Never updated, never deleted.

    A reversal is a new entry of the same kind in the opposite direction, with ``reverses`` and a
    ``reason``; it nets the original out.
    """

    KINDS = {
        "donation": "捐赠入账",
        "pool_funding": "配捐资金注入",
        "matching": "配捐",
        "reward": "以奖代补",
        "disbursement": "逐级拨付",
        "expenditure": "项目支出",
        "to_fund": "转入互助基金",
        "fund_spending": "互助基金支出",
        "refund": "退款",
    }

    kind = CharField(max_length=16)
    from_account = ForeignKeyField(Account, backref="outgoing", on_delete="RESTRICT")
    to_account = ForeignKeyField(Account, backref="incoming", on_delete="RESTRICT")
    amount = BigIntegerField()
    project = ForeignKeyField(Project, null=True, backref="entries", on_delete="RESTRICT")
    donation = ForeignKeyField(Donation, null=True, backref="entries", on_delete="RESTRICT")
    expenditure = ForeignKeyField(Expenditure, null=True, backref="entries", on_delete="RESTRICT")
    rule = ForeignKeyField(MatchingRule, null=True, backref="entries", on_delete="RESTRICT", index=False)
    reverses = ForeignKeyField("self", null=True, unique=True, backref="reversed_by", on_delete="RESTRICT")
    reason = TextField(default="")
    memo = CharField(max_length=256, default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=False)
    posted_at = DateTimeField(default=now)
    booked_on = DateField(default=lambda: now().date())

    class Meta:
        constraints = [SQL("CHECK (amount > 0)")]

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            raise LedgerError("已记账的分录不能修改，请使用冲正")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise LedgerError("已记账的分录不能删除，请使用冲正")


class AuditLog(BaseModel):
    at = DateTimeField(default=now, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    username = CharField(max_length=64, default="")
    action = CharField(max_length=24, index=True)
    table = CharField(max_length=32)
    object_id = CharField(max_length=64, default="")
    summary = CharField(max_length=256, default="")
    before = TextField(default="")
    after = TextField(default="")

    class Meta:
        indexes = ((("table", "object_id"), False),)


class LedgerTally(BaseModel):
    """Net sums of the ledger up to entry ``through``, grouped as the totals read them.

    Entries are append-only and are numbered in commit order (posting holds the ledger lock), so
    a sum up to entry *n* never changes: the totals add these rows to the entries after *n*, and
    ``db.totals.advance_tally`` folds those in from time to time. A cache, never an edited number:
    ``db.integrity.integrity_problems`` compares it with the entries themselves."""

    project = ForeignKeyField(Project, null=True, on_delete="RESTRICT", backref="+")
    kind = CharField(max_length=16)
    source_kind = CharField(max_length=16)
    target_kind = CharField(max_length=16)
    net = BigIntegerField()
    through = BigIntegerField(index=True)

    class Meta:
        table_name = "ledger_tally"


class AccountTally(BaseModel):
    """Each internal account's balance up to entry ``through``: ``LedgerTally``'s kind of cache, by
    account, so that the money each level holds (the dashboards) adds up the day's entries only."""

    account = ForeignKeyField(Account, unique=True, on_delete="RESTRICT", backref="+")
    net = BigIntegerField()
    through = BigIntegerField(index=True)

    class Meta:
        table_name = "account_tally"


class ChainLink(BaseModel):
    """One link of the public history (``db.history``): a record, its number and its chained hash."""

    RECORDS = {"entry": "分录", "disclosure": "公示"}

    seq = BigIntegerField(primary_key=True)
    record = CharField(max_length=16)
    record_id = BigIntegerField()
    hash = CharField(max_length=64)
    linked_at = DateTimeField(default=now)

    class Meta:
        table_name = "chain_link"
        indexes = ((("record", "record_id"), True),)


class Submission(BaseModel):
    """A form that was posted (``db.submissions``): its one-time token, kept so a second post is refused."""

    token = CharField(max_length=64, primary_key=True)
    at = DateTimeField(default=now)
    user = IntegerField(null=True)


class Setting(BaseModel):
    key = CharField(max_length=64, primary_key=True)
    value = TextField()


class PublishRun(BaseModel):
    """One publish of the public site (``xfjy publish``): the admin shows the latest ones."""

    STATUSES = {"running": "进行中", "ok": "成功", "failed": "失败", "interrupted": "中断"}

    started_at = DateTimeField(default=now)
    finished_at = DateTimeField(null=True)
    status = CharField(max_length=16, default="running")
    pages = IntegerField(default=0)
    files = IntegerField(default=0)
    seconds = FloatField(null=True)
    release = CharField(max_length=64, default="")
    errors = TextField(default="")
    requested_by = CharField(max_length=64, default="")
    head_seq = BigIntegerField(null=True)  # the public history's head this publish wrote (heads.json)
    head_hash = CharField(max_length=64, default="")
    head_at = DateTimeField(null=True)  # the data time of that head (the site's "更新于")

    class Meta:
        table_name = "publish_run"


class SampleDraw(BaseModel):
    """抽查验收: one reproducible draw of projects in 验收 for acceptance checks (``db.sampling``). The seed
    and a digest of the population it was drawn from are kept, so anyone can draw again and compare."""

    area = ForeignKeyField(Area, backref="sample_draws", on_delete="RESTRICT")  # the region or a 盟市
    drawn_at = DateTimeField(default=now)
    drawn_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    seed = CharField(max_length=64)
    share_bp = IntegerField(null=True)  # a share of each 旗县市区's projects, in basis points, or ...
    count = IntegerField(null=True)     # ... a number of projects in all: exactly one of the two
    weighted = BooleanField(default=False)  # by money raised
    population_hash = CharField(max_length=64)
    population_size = IntegerField()
    note = TextField(default="")

    class Meta:
        table_name = "sample_draw"
        constraints = [SQL('CHECK ((share_bp IS NULL) <> ("count" IS NULL))')]


class SampleItem(BaseModel):
    """One project of a draw, on its checklist until it has an evaluation or a reason why not."""

    draw = ForeignKeyField(SampleDraw, backref="items", on_delete="RESTRICT", index=False)
    project = ForeignKeyField(Project, backref="+", on_delete="RESTRICT")
    stratum = ForeignKeyField(Area, backref="+", on_delete="RESTRICT")  # the project's 旗县市区
    position = IntegerField()
    evaluation = ForeignKeyField(Evaluation, null=True, backref="+", on_delete="RESTRICT")
    skipped_reason = TextField(default="")
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "sample_item"
        indexes = ((("draw", "project"), True),)
        constraints = [SQL("CHECK (evaluation_id IS NULL OR skipped_reason = '')")]


class PhaseStep(BaseModel):
    """One of the four 实施步骤 of a phase and its due date: the plan's (``db.milestones.default_due``) until
    the region changes it."""

    batch = ForeignKeyField(Batch, backref="steps", on_delete="RESTRICT")
    step = SmallIntegerField()
    due_on = DateField()

    class Meta:
        table_name = "phase_step"
        indexes = ((("batch", "step"), True),)


class Milestone(BaseModel):
    """What one 盟市-level unit did for one step of a phase: recorded by the unit, reviewed by the region."""

    batch = ForeignKeyField(Batch, backref="+", on_delete="RESTRICT")
    area = ForeignKeyField(Area, backref="milestones", on_delete="RESTRICT")
    step = SmallIntegerField()
    state = CharField(max_length=16, default="draft")
    done_on = DateField(null=True)
    summary = TextField(default="")
    public = BooleanField(default=False)  # its documents may go on the public site
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    recorded_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("batch", "area", "step"), True),)


class MilestoneReview(Step):
    milestone = ForeignKeyField(Milestone, backref="reviews", on_delete="CASCADE")

    class Meta:
        table_name = "milestone_review"


class Training(BaseModel):
    """One 专项培训 session a unit held, with its photos (attachments)."""

    milestone = ForeignKeyField(Milestone, backref="trainings", on_delete="RESTRICT")
    held_on = DateField()
    place = CharField(max_length=128)
    trainers = CharField(max_length=256)
    participants = IntegerField()
    notes = TextField(default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=now)


MODELS = [
    Area, Batch, Quota, User, Village, SupervisoryMember, Project, AdmissionStep, ProjectReview,
    ImportRun, Donation, Expenditure, FundSpending, Disclosure, SupervisionOpinion, Attachment, Evaluation, Volunteer,
    ServiceRecord,
    Account, MatchingRule, Entry, LedgerTally, AccountTally, ChainLink, AuditLog, Submission, Setting, PublishRun,
    SampleDraw, SampleItem, PhaseStep, Milestone, MilestoneReview, Training,
]

__all__ = [m.__name__ for m in MODELS] + ["Level", "Role", "MODELS"]
