"""监督意见: a 村社监管会 member's dated opinion on a project (issue 15), kept as written; a correction is a
new opinion naming the one it corrects. Marked public, it is published on the village page."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class SupervisionOpinion(pw.Model):
        id = pw.AutoField()
        project = pw.ForeignKeyField(column_name="project_id", field="id", model=migrator.orm["project"],
                                     on_delete="RESTRICT")
        given_on = pw.DateField()
        text = pw.TextField()
        member_name = pw.CharField(max_length=64)
        public = pw.BooleanField(default=False)
        corrects = pw.ForeignKeyField(column_name="corrects_id", field="id", model="self", null=True,
                                      on_delete="RESTRICT")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["users"], null=True,
                                  on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "supervision_opinion"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("supervision_opinion")
