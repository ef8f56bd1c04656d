"""The first schema: areas, villages, projects, donations, the ledger and the records around them."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    pass


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Area(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=12, unique=True)
        name = pw.CharField(max_length=64)
        level = pw.SmallIntegerField(index=True)
        parent = pw.ForeignKeyField(column_name='parent_id', field='id', model='self', null=True, on_delete='RESTRICT')
        path = pw.CharField(index=True, max_length=96)
        prefecture = pw.ForeignKeyField(column_name='prefecture_id', field='id', model='self', null=True)
        county = pw.ForeignKeyField(column_name='county_id', field='id', model='self', null=True)
        official = pw.BooleanField(default=True)

        class Meta:
            table_name = "area"

    @migrator.create_model
    class Batch(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=16, unique=True)
        name = pw.CharField(max_length=32)
        starts_on = pw.DateField()
        ends_on = pw.DateField()
        ordinal = pw.SmallIntegerField(default=0)

        class Meta:
            table_name = "batch"

    @migrator.create_model
    class Village(pw.Model):
        id = pw.AutoField()
        area = pw.ForeignKeyField(column_name='area_id', field='id', model=migrator.orm['area'], on_delete='RESTRICT', unique=True)
        full_name = pw.CharField(max_length=128)
        kind = pw.CharField(default='村', max_length=8)
        address = pw.CharField(default='', max_length=256)
        leader_name = pw.CharField(default='', max_length=32)
        leader_phone = pw.CharField(default='', max_length=32)
        batch = pw.ForeignKeyField(column_name='batch_id', field='id', model=migrator.orm['batch'], on_delete='RESTRICT')
        admission_state = pw.CharField(default='draft', index=True, max_length=24)
        fund_established_on = pw.DateField(index=True, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "village"

    @migrator.create_model
    class Project(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=32, unique=True)
        village = pw.ForeignKeyField(column_name='village_id', field='id', model=migrator.orm['village'], on_delete='RESTRICT')
        name = pw.CharField(max_length=128)
        reporting_unit = pw.CharField(default='', max_length=128)
        reported_on = pw.DateField(null=True)
        address = pw.CharField(default='', max_length=256)
        leader_name = pw.CharField(default='', max_length=32)
        leader_phone = pw.CharField(default='', max_length=32)
        target = pw.BigIntegerField()
        starts_on = pw.DateField()
        ends_on = pw.DateField()
        background = pw.TextField(default='')
        summary = pw.TextField(default='')
        democratic_decision = pw.TextField(default='')
        urgent = pw.BooleanField(default=False)
        state = pw.CharField(default='draft', index=True, max_length=24)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "project"

    @migrator.create_model
    class Account(pw.Model):
        id = pw.AutoField()
        key = pw.CharField(max_length=200, unique=True)
        kind = pw.CharField(max_length=16)
        area = pw.ForeignKeyField(column_name='area_id', field='id', model=migrator.orm['area'], null=True, on_delete='RESTRICT')
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], null=True, on_delete='RESTRICT')
        name = pw.CharField(default='', max_length=128)

        class Meta:
            table_name = "account"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        username = pw.CharField(max_length=64, unique=True)
        password_hash = pw.CharField(max_length=256)
        role = pw.CharField(max_length=16)
        area = pw.ForeignKeyField(column_name='area_id', field='id', model=migrator.orm['area'], on_delete='RESTRICT')
        display_name = pw.CharField(default='', max_length=64)
        unit = pw.CharField(default='', max_length=128)
        active = pw.BooleanField(default=True)
        failed_logins = pw.IntegerField(default=0)
        locked_until = pw.DateTimeField(null=True)
        last_login_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "users"

    @migrator.create_model
    class AdmissionStep(pw.Model):
        id = pw.AutoField()
        action = pw.CharField(max_length=24)
        from_state = pw.CharField(max_length=24)
        to_state = pw.CharField(max_length=24)
        decision = pw.CharField(max_length=16)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        person = pw.CharField(default='', max_length=64)
        unit = pw.CharField(default='', max_length=128)
        opinion = pw.TextField(default='')
        at = pw.DateTimeField()
        village = pw.ForeignKeyField(column_name='village_id', field='id', model=migrator.orm['village'], on_delete='CASCADE')

        class Meta:
            table_name = "admission_step"

    @migrator.create_model
    class Expenditure(pw.Model):
        id = pw.AutoField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='RESTRICT')
        spent_on = pw.DateField(index=True)
        item = pw.CharField(max_length=128)
        payee = pw.CharField(max_length=128)
        amount = pw.BigIntegerField()
        voucher_no = pw.CharField(default='', max_length=64)
        approved_by = pw.CharField(default='', max_length=64)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "expenditure"

    @migrator.create_model
    class Disclosure(pw.Model):
        id = pw.AutoField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='RESTRICT')
        title = pw.CharField(max_length=128)
        period_start = pw.DateField(null=True)
        period_end = pw.DateField(null=True)
        body = pw.TextField(default='')
        published_on = pw.DateField()
        corrects = pw.ForeignKeyField(column_name='corrects_id', field='id', model='self', null=True, on_delete='RESTRICT', unique=True)
        correction_note = pw.TextField(default='')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "disclosure"

    @migrator.create_model
    class Attachment(pw.Model):
        id = pw.AutoField()
        sha256 = pw.CharField(index=True, max_length=64)
        filename = pw.CharField(max_length=256)
        mime = pw.CharField(max_length=64)
        size = pw.IntegerField()
        expenditure = pw.ForeignKeyField(column_name='expenditure_id', field='id', model=migrator.orm['expenditure'], null=True, on_delete='RESTRICT')
        disclosure = pw.ForeignKeyField(column_name='disclosure_id', field='id', model=migrator.orm['disclosure'], null=True, on_delete='RESTRICT')
        published = pw.BooleanField(default=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "attachment"

    @migrator.create_model
    class AuditLog(pw.Model):
        id = pw.AutoField()
        at = pw.DateTimeField(index=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        username = pw.CharField(default='', max_length=64)
        action = pw.CharField(index=True, max_length=24)
        table = pw.CharField(max_length=32)
        object_id = pw.CharField(default='', max_length=64)
        summary = pw.CharField(default='', max_length=256)
        before = pw.TextField(default='')
        after = pw.TextField(default='')

        class Meta:
            table_name = "audit_log"

    @migrator.create_model
    class ImportRun(pw.Model):
        id = pw.AutoField()
        kind = pw.CharField(max_length=16)
        filename = pw.CharField(max_length=256)
        sha256 = pw.CharField(index=True, max_length=64)
        added = pw.IntegerField(default=0)
        skipped = pw.IntegerField(default=0)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        at = pw.DateTimeField()

        class Meta:
            table_name = "import_run"

    @migrator.create_model
    class Donation(pw.Model):
        id = pw.AutoField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='RESTRICT', index=False)
        txn_no = pw.CharField(max_length=64, unique=True)
        donor_name = pw.CharField(default='', max_length=64)
        name_consent = pw.CharField(default='none', max_length=8)
        amount = pw.BigIntegerField()
        channel = pw.CharField(default='online', max_length=16)
        donated_at = pw.DateTimeField(index=True)
        message = pw.TextField(default='')
        import_run = pw.ForeignKeyField(column_name='import_run_id', field='id', model=migrator.orm['import_run'], null=True, on_delete='SET NULL')

        class Meta:
            table_name = "donation"

    @migrator.create_model
    class MatchingRule(pw.Model):
        id = pw.AutoField()
        area = pw.ForeignKeyField(column_name='area_id', field='id', model=migrator.orm['area'], on_delete='RESTRICT')
        kind = pw.CharField(max_length=16)
        name = pw.CharField(max_length=64)
        ratio_bp = pw.IntegerField()
        cap = pw.BigIntegerField()
        active = pw.BooleanField(default=True)

        class Meta:
            table_name = "matching_rule"

    @migrator.create_model
    class Entry(pw.Model):
        id = pw.AutoField()
        kind = pw.CharField(max_length=16)
        from_account = pw.ForeignKeyField(column_name='from_account_id', field='id', model=migrator.orm['account'], on_delete='RESTRICT')
        to_account = pw.ForeignKeyField(column_name='to_account_id', field='id', model=migrator.orm['account'], on_delete='RESTRICT')
        amount = pw.BigIntegerField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], null=True, on_delete='RESTRICT')
        donation = pw.ForeignKeyField(column_name='donation_id', field='id', model=migrator.orm['donation'], null=True, on_delete='RESTRICT')
        expenditure = pw.ForeignKeyField(column_name='expenditure_id', field='id', model=migrator.orm['expenditure'], null=True, on_delete='RESTRICT')
        rule = pw.ForeignKeyField(column_name='rule_id', field='id', model=migrator.orm['matching_rule'], null=True, on_delete='RESTRICT', index=False)
        reverses = pw.ForeignKeyField(column_name='reverses_id', field='id', model='self', null=True, on_delete='RESTRICT', unique=True)
        reason = pw.TextField(default='')
        memo = pw.CharField(default='', max_length=256)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL', index=False)
        posted_at = pw.DateTimeField()
        booked_on = pw.DateField()

        class Meta:
            table_name = "entry"
            constraints = [pw.SQL("CHECK (amount > 0)")]

    @migrator.create_model
    class Evaluation(pw.Model):
        id = pw.AutoField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='RESTRICT')
        evaluated_on = pw.DateField()
        unit = pw.CharField(default='', max_length=128)
        evaluator = pw.CharField(default='', max_length=64)
        result = pw.CharField(max_length=16)
        score = pw.SmallIntegerField(null=True)
        notes = pw.TextField(default='')

        class Meta:
            table_name = "evaluation"

    @migrator.create_model
    class ProjectReview(pw.Model):
        id = pw.AutoField()
        action = pw.CharField(max_length=24)
        from_state = pw.CharField(max_length=24)
        to_state = pw.CharField(max_length=24)
        decision = pw.CharField(max_length=16)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], null=True, on_delete='SET NULL')
        person = pw.CharField(default='', max_length=64)
        unit = pw.CharField(default='', max_length=128)
        opinion = pw.TextField(default='')
        at = pw.DateTimeField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='CASCADE')

        class Meta:
            table_name = "project_review"

    @migrator.create_model
    class Quota(pw.Model):
        id = pw.AutoField()
        area = pw.ForeignKeyField(column_name='area_id', field='id', model=migrator.orm['area'], on_delete='RESTRICT')
        batch = pw.ForeignKeyField(column_name='batch_id', field='id', model=migrator.orm['batch'], on_delete='RESTRICT')
        count = pw.IntegerField()

        class Meta:
            table_name = "quota"
            indexes = [(('area', 'batch'), True)]

    @migrator.create_model
    class Volunteer(pw.Model):
        id = pw.AutoField()
        village = pw.ForeignKeyField(column_name='village_id', field='id', model=migrator.orm['village'], on_delete='RESTRICT')
        name = pw.CharField(max_length=32)
        phone = pw.CharField(default='', max_length=32)
        skills = pw.CharField(default='', max_length=128)
        joined_on = pw.DateField(null=True)

        class Meta:
            table_name = "volunteer"

    @migrator.create_model
    class ServiceRecord(pw.Model):
        id = pw.AutoField()
        volunteer = pw.ForeignKeyField(column_name='volunteer_id', field='id', model=migrator.orm['volunteer'], on_delete='RESTRICT')
        served_on = pw.DateField()
        minutes = pw.IntegerField()
        activity = pw.CharField(max_length=128)

        class Meta:
            table_name = "service_record"

    @migrator.create_model
    class SupervisoryMember(pw.Model):
        id = pw.AutoField()
        village = pw.ForeignKeyField(column_name='village_id', field='id', model=migrator.orm['village'], on_delete='CASCADE')
        name = pw.CharField(max_length=32)
        title = pw.CharField(default='委员', max_length=32)
        phone = pw.CharField(default='', max_length=32)
        joined_on = pw.DateField(null=True)

        class Meta:
            table_name = "supervisory_member"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('supervisory_member')

    migrator.remove_model('service_record')

    migrator.remove_model('volunteer')

    migrator.remove_model('quota')

    migrator.remove_model('project_review')

    migrator.remove_model('evaluation')

    migrator.remove_model('entry')

    migrator.remove_model('matching_rule')

    migrator.remove_model('donation')

    migrator.remove_model('import_run')

    migrator.remove_model('audit_log')

    migrator.remove_model('attachment')

    migrator.remove_model('disclosure')

    migrator.remove_model('expenditure')

    migrator.remove_model('admission_step')

    migrator.remove_model('users')

    migrator.remove_model('account')

    migrator.remove_model('project')

    migrator.remove_model('village')

    migrator.remove_model('batch')

    migrator.remove_model('area')
