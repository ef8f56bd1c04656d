"""实施步骤: a step's time is when its unit last recorded it (``recorded_at``), not when the region last
reviewed it; the step page names who recorded it and when. A plain rename on both databases."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql('ALTER TABLE "milestone" RENAME COLUMN "updated_at" TO "recorded_at"')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql('ALTER TABLE "milestone" RENAME COLUMN "recorded_at" TO "updated_at"')
