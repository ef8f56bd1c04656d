"""Staff accounts: roles, the area each acts for, and password checks."""
from __future__ import annotations

import datetime as dt
import re

from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .areas import get_area
from .clock import now
from .database import database, is_postgres, write_transaction
from .errors import XfjyError
from .models import Level, Role, User

ROLE_AREA_LEVELS = {
    Role.VILLAGE: {Level.VILLAGE},
    Role.TOWNSHIP: {Level.TOWNSHIP},
    Role.COUNTY: {Level.COUNTY, Level.PREFECTURE},
    Role.PREFECTURE: {Level.PREFECTURE},
    Role.REGION: {Level.REGION},
    Role.ADMIN: {Level.NATION, Level.REGION},
    Role.AUDITOR: {Level.REGION, Level.PREFECTURE, Level.COUNTY},  # sees what that area's federation sees
    Role.SUPERVISOR: {Level.VILLAGE},  # a member of that village's 监管会
}


def create_user(username: str, password: str, role: str, area_code: str, *, display_name: str = "",
                unit: str = "", email: str = "", by=None) -> User:
    """A user acts at the level of their role, for an area of that level.

    满洲里市 and 二连浩特市 sit at the 盟市 level and are also their own 旗县市区, so a county
    user may act for them.
    """
    username = username.strip()
    if not username:
        raise XfjyError("用户名不能为空")
    if role not in Role.ALL:
        raise XfjyError(f"角色「{role}」无效，应为 {', '.join(Role.ALL)} 之一")
    password_hash = hash_password(password, username)
    email = check_email(email)
    area = get_area(area_code)
    if area.level not in ROLE_AREA_LEVELS[role] or (
        role == Role.COUNTY and area.level == Level.PREFECTURE and area.county_id != area.id
    ):
        raise XfjyError(f"{Role.NAMES[role]}用户不能以{area.level_name}「{area.name}」为管辖区域")
    if User.select().where(User.username == username).exists():
        raise XfjyError(f"用户名 {username} 已存在")
    with database.atomic():
        user = User.create(
            username=username,
            password_hash=password_hash,
            role=role,
            area=area,
            display_name=display_name or username,
            unit=unit or default_unit(role, area),
            email=email,
        )
        audit.record(by, "create", user, summary=f"创建用户 {username}")
    return user


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_email(address: str) -> str:
    """An e-mail address for the daily reminders, or empty for none."""
    address = (address or "").strip()
    if address and (len(address) > 254 or not EMAIL.fullmatch(address)):
        raise XfjyError(f"电子邮箱「{address}」格式不正确，应如 zhangsan@example.org")
    return address


def default_unit(role: str, area) -> str:
    if role in (Role.COUNTY, Role.PREFECTURE, Role.REGION):
        return f"{area.name}慈善总会"
    if role == Role.TOWNSHIP:
        return f"{area.name}人民政府" if area.name.endswith(("镇", "乡", "苏木")) else f"{area.name}办事处"
    if role == Role.VILLAGE:
        return f"{area.name}委员会"
    if role == Role.SUPERVISOR:
        return f"{area.name}监管会"
    if role == Role.AUDITOR:
        return f"{area.name}审计/财政检查"
    return "系统管理"


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


MIN_PASSWORD = 10


def check_new_password(password: str, username: str = "") -> None:
    """At least 10 characters, not only digits, not the user name (nor containing it)."""
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise XfjyError(f"密码至少 {MIN_PASSWORD} 位")
    if password.isdigit():
        raise XfjyError("密码不能全是数字，请加入字母或符号")
    if username and username.strip().lower() in password.lower():
        raise XfjyError("密码不能包含用户名")


def hash_password(password: str, username: str = "") -> str:
    check_new_password(password, username)
    return generate_password_hash(password)


def set_password(user: User, password: str, by=None) -> None:
    """A new password also ends every session signed in with the old one (``User.get_id``)."""
    User.update(password_hash=hash_password(password, user.username)).where(User.id == user.id).execute()
    audit.record(by, "update", user, summary=f"重置用户 {user.username} 的密码", after={})


def user_for_session(key: str) -> User | None:
    user_id, _, digest = (key or "").partition(".")
    user = User.get_or_none(User.id == int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or not digest or user.get_id() != key:
        return None
    return user


MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
SIGN_IN_FAILED = f"用户名或密码错误，或账号已被锁定（连续输错 {MAX_FAILED_LOGINS} 次锁定 {LOCK_MINUTES} 分钟）"


def authenticate(username: str, password: str) -> User:
    """The user for these credentials; repeated failures lock the account for a while.

    One message for every failure (unknown name, wrong password, locked, disabled), so nothing can be
    learnt about an account. Each attempt is counted, atomically, before its password is checked:
    however many arrive at once, at most five passwords are tried before the lock."""
    user = User.get_or_none(User.username == (username or "").strip())
    wrong = XfjyError(SIGN_IN_FAILED)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")  # same time as a real check
        raise wrong
    with write_transaction():
        if is_postgres():
            User.select(User.id).where(User.id == user.id).for_update().execute()
        row = User.get_by_id(user.id)
        if row.locked_until is not None and row.locked_until <= now():
            row.failed_logins, row.locked_until = 0, None  # the lock has run out: counting starts again
        if not row.active or row.locked_until is not None or row.failed_logins >= MAX_FAILED_LOGINS:
            refused = True
            if row.active and row.locked_until is None:
                User.update(locked_until=now() + dt.timedelta(minutes=LOCK_MINUTES)).where(User.id == user.id).execute()
        else:
            refused, attempt = False, row.failed_logins + 1
            User.update(failed_logins=attempt, locked_until=None).where(User.id == user.id).execute()
    if refused:
        check_password_hash(_DUMMY_HASH, password or "")
        raise wrong
    if not check_password(row, password or ""):
        locked = attempt >= MAX_FAILED_LOGINS
        if locked:
            User.update(locked_until=now() + dt.timedelta(minutes=LOCK_MINUTES)).where(User.id == user.id).execute()
        audit.record(user, "login_failed", table="users", object_id=user.id,
                     summary=f"{user.username} 登录失败" + ("，账号锁定" if locked else ""))
        raise wrong
    User.update(failed_logins=0, locked_until=None, last_login_at=now()).where(User.id == user.id).execute()
    audit.record(user, "login", table="users", object_id=user.id, summary=f"{user.username} 登录")
    return User.get_by_id(user.id)


_DUMMY_HASH = generate_password_hash("not-a-password")
