"""Staff accounts: roles, the area each acts for, and password checks."""
from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .areas import get_area
from .database import database
from .errors import XfjyError
from .models import Level, Role, User

ROLE_AREA_LEVELS = {
    Role.VILLAGE: {Level.VILLAGE},
    Role.TOWNSHIP: {Level.TOWNSHIP},
    Role.COUNTY: {Level.COUNTY, Level.PREFECTURE},
    Role.PREFECTURE: {Level.PREFECTURE},
    Role.REGION: {Level.REGION},
    Role.ADMIN: {Level.NATION, Level.REGION},
}


def create_user(username: str, password: str, role: str, area_code: str, *, display_name: str = "",
                unit: str = "", by=None) -> User:
    """A user acts at the level of their role, for an area of that level.

    满洲里市 and 二连浩特市 sit at the 盟市 level and are also their own 旗县市区, so a county
    user may act for them.
    """
    username = username.strip()
    if not username:
        raise XfjyError("用户名不能为空")
    if role not in Role.ALL:
        raise XfjyError(f"角色「{role}」无效，应为 {', '.join(Role.ALL)} 之一")
    password_hash = hash_password(password)
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
        )
        audit.record(by, "create", user, summary=f"创建用户 {username}")
    return user


def default_unit(role: str, area) -> str:
    if role in (Role.COUNTY, Role.PREFECTURE, Role.REGION):
        return f"{area.name}慈善总会"
    if role == Role.TOWNSHIP:
        return f"{area.name}人民政府" if area.name.endswith(("镇", "乡", "苏木")) else f"{area.name}办事处"
    if role == Role.VILLAGE:
        return f"{area.name}委员会"
    return "系统管理"


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise XfjyError("密码至少 8 位")
    return generate_password_hash(password)


def set_password(user: User, password: str, by=None) -> None:
    User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    audit.record(by, "update", user, summary=f"重置用户 {user.username} 的密码", after={})


MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


def authenticate(username: str, password: str) -> User:
    """The user for these credentials; repeated failures lock the account for a while.

    The same message for an unknown name and a wrong password, so names cannot be probed.
    """
    import datetime as dt

    from .clock import now

    user = User.get_or_none(User.username == (username or "").strip())
    wrong = XfjyError("用户名或密码错误")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")  # same time as a real check
        raise wrong
    if user.locked_until is not None and user.locked_until > now():
        raise XfjyError(f"登录失败次数过多，账号已锁定至 {user.locked_until:%H:%M}，请稍后再试")
    if not user.active:
        raise XfjyError("该账号已停用")
    if not check_password(user, password or ""):
        failures = user.failed_logins + 1
        locked = now() + dt.timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILED_LOGINS else None
        User.update(failed_logins=0 if locked else failures, locked_until=locked).where(User.id == user.id).execute()
        audit.record(user, "login_failed", table="users", object_id=user.id,
                     summary=f"{user.username} 登录失败" + ("，账号锁定" if locked else ""))
        raise wrong
    User.update(failed_logins=0, locked_until=None, last_login_at=now()).where(User.id == user.id).execute()
    audit.record(user, "login", table="users", object_id=user.id, summary=f"{user.username} 登录")
    return User.get_by_id(user.id)


_DUMMY_HASH = generate_password_hash("not-a-password")
