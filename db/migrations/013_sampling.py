"""抽查验收 (issue 3): a reproducible draw of projects in 验收 (its seed and a digest of its population), and
its checklist, one row per sampled project, resolved by an evaluation or a reason why not."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class SampleDraw(pw.Model):
        id = pw.AutoField()
        area = pw.ForeignKeyField(column_name="area_id", field="id", model=migrator.orm["area"], on_delete="RESTRICT")
        drawn_at = pw.DateTimeField()
        drawn_by = pw.ForeignKeyField(column_name="drawn_by_id", field="id", model=migrator.orm["users"], null=True,
                                      on_delete="SET NULL")
        seed = pw.CharField(max_length=64)
        share_bp = pw.IntegerField(null=True)
        count = pw.IntegerField(null=True)
        weighted = pw.BooleanField(default=False)
        population_hash = pw.CharField(max_length=64)
        population_size = pw.IntegerField()
        note = pw.TextField(default="")

        class Meta:
            table_name = "sample_draw"
            constraints = [pw.SQL('CHECK ((share_bp IS NULL) <> ("count" IS NULL))')]

    @migrator.create_model
    class SampleItem(pw.Model):
        id = pw.AutoField()
        draw = pw.ForeignKeyField(column_name="draw_id", field="id", model=SampleDraw, on_delete="RESTRICT",
                                  index=False)
        project = pw.ForeignKeyField(column_name="project_id", field="id", model=migrator.orm["project"],
                                     on_delete="RESTRICT")
        stratum = pw.ForeignKeyField(column_name="stratum_id", field="id", model=migrator.orm["area"],
                                     on_delete="RESTRICT")
        position = pw.IntegerField()
        evaluation = pw.ForeignKeyField(column_name="evaluation_id", field="id", model=migrator.orm["evaluation"],
                                        null=True, on_delete="RESTRICT")
        skipped_reason = pw.TextField(default="")
        resolved_at = pw.DateTimeField(null=True)
        resolved_by = pw.ForeignKeyField(column_name="resolved_by_id", field="id", model=migrator.orm["users"],
                                         null=True, on_delete="SET NULL")

        class Meta:
            table_name = "sample_item"
            indexes = ((("draw", "project"), True),)
            constraints = [pw.SQL("CHECK (evaluation_id IS NULL OR skipped_reason = '')")]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("sample_item")
    migrator.remove_model("sample_draw")
