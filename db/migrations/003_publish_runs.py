"""Record every publish of the public site: when, how long, how many pages, what went wrong."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class PublishRun(pw.Model):
        started_at = pw.DateTimeField()
        finished_at = pw.DateTimeField(null=True)
        status = pw.CharField(max_length=16, default="running")
        pages = pw.IntegerField(default=0)
        files = pw.IntegerField(default=0)
        seconds = pw.FloatField(null=True)
        release = pw.CharField(max_length=64, default="")
        errors = pw.TextField(default="")
        requested_by = pw.CharField(max_length=64, default="")

        class Meta:
            table_name = "publish_run"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("publish_run")
