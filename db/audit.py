"""The audit log: who changed what, when, with the values before and after."""
from __future__ import annotations

import datetime as dt
import json

from peewee import Model
from playhouse.shortcuts import model_to_dict

from .errors import JurisdictionError, XfjyError
from .jurisdiction import READ_ONLY, logs_views, may_record
from .models import AuditLog

PRIVATE_FIELDS = frozenset({"password_hash"})


def snapshot(obj: Model | None) -> dict:
    if obj is None:
        return {}
    data = model_to_dict(obj, recurse=False)
    return {k: v for k, v in data.items() if k not in PRIVATE_FIELDS}


def _dump(data: dict | None) -> str:
    if not data:
        return ""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=_plain)


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def record(user, action: str, obj: Model | None = None, *, table: str = "", object_id=None,
           before: dict | None = None, after: dict | None = None, summary: str = "") -> AuditLog:
    """Write one audit row. ``after`` defaults to the object's current values.

    A read-only user (auditor, supervisor) causes only the actions ``jurisdiction.may_record`` allows:
    any other write it reached is refused here, and rolled back with the transaction it ran in."""
    if user is not None and getattr(user, "role", None) is not None and not may_record(user, action):
        raise JurisdictionError(READ_ONLY)
    if obj is not None:
        table = table or obj._meta.table_name
        object_id = object_id if object_id is not None else obj._pk
        if after is None and action != "delete":
            after = snapshot(obj)
    return AuditLog.create(
        user=user.id if user is not None and getattr(user, "id", None) else None,
        username=getattr(user, "username", "") if user is not None else "system",
        action=action,
        table=table,
        object_id="" if object_id is None else str(object_id),
        summary=summary[:256],
        before=_dump(before),
        after=_dump(after),
    )


CHANGES = ("create", "update", "transition")


def last_change(obj: Model) -> AuditLog | None:
    """The latest recorded change of this row."""
    return (AuditLog.select().where((AuditLog.table == obj._meta.table_name) & (AuditLog.object_id == str(obj._pk))
                                    & AuditLog.action.in_(CHANGES)).order_by(AuditLog.id.desc()).first())


def version(obj: Model) -> int:
    """What an edit form remembers of the row it shows: the id of its latest change (0 if none)."""
    last = last_change(obj)
    return last.id if last is not None else 0


def check_unchanged(obj: Model, seen: int) -> None:
    """Refuse an edit made on a form older than the row's latest change, naming who made it."""
    last = last_change(obj)
    if last is not None and last.id > seen:
        who = last.username or "其他用户"
        raise XfjyError(f"该记录已由 {who} 于 {last.at:%m-%d %H:%M} 修改，您的修改未保存；请刷新页面，看过最新内容后再改")


def record_view(user, path: str) -> None:
    """Keep a page an auditor opened (``jurisdiction.logs_views``); nothing for anyone else."""
    if logs_views(user):
        record(user, "view", table="page", object_id=path[:64], summary=f"{user.username} 查看 {path}")
