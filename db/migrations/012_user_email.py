"""待办提醒 (issue 15): a user's e-mail address, where ``xfjy remind`` sends the daily digest; empty for
users who get none.

Plain ``ADD COLUMN`` with its default, on both databases: peewee-migrate's ``add_fields`` rebuilds a
SQLite table to make a column NOT NULL, and dropping the old ``users`` table would set every
``user_id`` that points at it to NULL (their ON DELETE SET NULL)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql("""ALTER TABLE "users" ADD COLUMN "email" VARCHAR(254) NOT NULL DEFAULT ''""")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql('ALTER TABLE "users" DROP COLUMN "email"')
