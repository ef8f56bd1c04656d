"""The programme's own steps (issue 16): each phase's four 实施步骤 with their due dates, what each 盟市-level
unit recorded for them, the region's reviews, the 专项培训 sessions, and attachments for their documents.

The two attachment columns are plain ``ADD COLUMN`` (see 012): rebuilding the ``attachment`` table on
SQLite is not needed for a nullable column. A Word or Excel file's MIME type is longer than the 64
characters ``attachment.mime`` held."""

import datetime as dt

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class PhaseStep(pw.Model):
        id = pw.AutoField()
        batch = pw.ForeignKeyField(column_name="batch_id", field="id", model=migrator.orm["batch"], on_delete="RESTRICT")
        step = pw.SmallIntegerField()
        due_on = pw.DateField()

        class Meta:
            table_name = "phase_step"
            indexes = ((("batch", "step"), True),)

    @migrator.create_model
    class Milestone(pw.Model):
        id = pw.AutoField()
        batch = pw.ForeignKeyField(column_name="batch_id", field="id", model=migrator.orm["batch"], on_delete="RESTRICT")
        area = pw.ForeignKeyField(column_name="area_id", field="id", model=migrator.orm["area"], on_delete="RESTRICT")
        step = pw.SmallIntegerField()
        state = pw.CharField(max_length=16, default="draft")
        done_on = pw.DateField(null=True)
        summary = pw.TextField(default="")
        public = pw.BooleanField(default=False)
        recorded_by = pw.ForeignKeyField(column_name="recorded_by_id", field="id", model=migrator.orm["users"],
                                         null=True, on_delete="SET NULL")
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "milestone"
            indexes = ((("batch", "area", "step"), True),)

    @migrator.create_model
    class MilestoneReview(pw.Model):
        id = pw.AutoField()
        action = pw.CharField(max_length=24)
        from_state = pw.CharField(max_length=24)
        to_state = pw.CharField(max_length=24)
        decision = pw.CharField(max_length=16)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["users"], null=True,
                                  on_delete="SET NULL")
        person = pw.CharField(max_length=64, default="")
        unit = pw.CharField(max_length=128, default="")
        opinion = pw.TextField(default="")
        at = pw.DateTimeField()
        milestone = pw.ForeignKeyField(column_name="milestone_id", field="id", model=Milestone, on_delete="CASCADE")

        class Meta:
            table_name = "milestone_review"

    @migrator.create_model
    class Training(pw.Model):
        id = pw.AutoField()
        milestone = pw.ForeignKeyField(column_name="milestone_id", field="id", model=Milestone, on_delete="RESTRICT")
        held_on = pw.DateField()
        place = pw.CharField(max_length=128)
        trainers = pw.CharField(max_length=256)
        participants = pw.IntegerField()
        notes = pw.TextField(default="")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["users"], null=True,
                                  on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "training"

    for column, table in (("milestone_id", "milestone"), ("training_id", "training")):
        migrator.sql(f'ALTER TABLE "attachment" ADD COLUMN "{column}" INTEGER NULL '
                     f'REFERENCES "{table}" ("id") ON DELETE RESTRICT')
        migrator.sql(f'CREATE INDEX "attachment_{column}" ON "attachment" ("{column}")')
    if isinstance(database, pw.PostgresqlDatabase):  # SQLite does not check a VARCHAR's length
        migrator.sql('ALTER TABLE "attachment" ALTER COLUMN "mime" TYPE VARCHAR(128)')
    migrator.run(_default_dues, database)


def _default_dues(database):
    """The plan's due dates for the phases already loaded (``db.milestones.default_due``, copied: a
    migration must not change when the code does)."""
    for batch_id, starts, ends in database.execute_sql('SELECT id, starts_on, ends_on FROM "batch"').fetchall():
        starts = starts if isinstance(starts, dt.date) else dt.date.fromisoformat(str(starts)[:10])
        ends = ends if isinstance(ends, dt.date) else dt.date.fromisoformat(str(ends)[:10])
        for step, due in enumerate((*(_month_end(starts, months) for months in (2, 3, 4)), ends), start=1):
            database.execute_sql(f'INSERT INTO "phase_step" (batch_id, step, due_on) VALUES ({database.param}, '
                                 f'{database.param}, {database.param})', (batch_id, step, due))


def _month_end(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months + 1, 12)
    return dt.date(day.year + year, month + 1, 1) - dt.timedelta(days=1)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for column in ("training_id", "milestone_id"):
        migrator.sql(f'DROP INDEX "attachment_{column}"')
        migrator.sql(f'ALTER TABLE "attachment" DROP COLUMN "{column}"')
    migrator.remove_model("training")
    migrator.remove_model("milestone_review")
    migrator.remove_model("milestone")
    migrator.remove_model("phase_step")
