"""The daily reminder digest (db/reminders.py) and ``xfjy remind`` (admin/mail.py), sent to a real SMTP
server (aiosmtpd) on 127.0.0.1, on both databases.

``User`` has no e-mail column yet, so the tests give each user's address (``admin.mail.user_address``)."""
from __future__ import annotations

import datetime as dt
import email
import socket
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from admin import mail
from admin.cli import cli
from db import milestones
from db.areas import get_area
from db.clock import travel
from db.models import Batch, Role, User
from db.reminders import digest_body, digest_for

from .backends import bound
from .factories import PDF, Chain, advance_to, new_project, user

# A project whose fundraising runs a year from 2024-03-01 owes its first periodic disclosure by 2024-05-31.
ON = dt.date(2024, 5, 26)  # five days before


class Recorder:
    """An aiosmtpd handler that keeps every session and message, and refuses the addresses in ``refuse``."""

    def __init__(self, refuse=()):
        self.refuse, self.sessions, self.messages = set(refuse), 0, []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self.sessions += 1
        session.host_name = hostname
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 没有这个邮箱"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((tuple(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port; ``smtp.handler`` is what it received."""
    handler = Recorder(refuse={"nobody@example.org"})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.sessions = 0  # the controller's own readiness check is not a client
    controller.handler = handler
    yield controller
    controller.stop()


def world() -> dict:
    """A county user with a review waiting and a disclosure due in five days; a township user elsewhere
    with nothing waiting."""
    here = Chain()
    advance_to(new_project(here, here.add_village(), name="村卫生室修缮"), "county_review", here)
    advance_to(new_project(here, name="牧区饮水工程", starts_on=dt.date(2024, 3, 1), ends_on=dt.date(2025, 2, 28)),
               "fundraising", here)
    elsewhere = Chain("150122")
    return {"county": here.users[Role.COUNTY], "idle": elsewhere.users[Role.TOWNSHIP],
            "village": here.users[Role.VILLAGE]}


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_digest_lists_a_review_and_a_disclosure_due_and_nothing_for_an_idle_user(app, smtp):
    people = world()
    digest = digest_for(people["county"], ON)
    assert [(s.title, len(s.items)) for s in digest.sections] == [("等待我审核办理的项目", 1), ("7 天内须公示", 1)]
    assert digest_for(people["idle"], ON).empty

    config = mail.MailConfig.from_app({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_FROM": "xfjy@example.org"})
    outcome = mail.send_digests([(digest, "county@example.org"), (digest_for(people["idle"], ON), "idle@example.org")],
                                config, mail.Links(app))
    assert (outcome.sent, outcome.nothing, outcome.failed) == (1, 1, [])
    [(to, message)] = smtp.handler.messages
    assert to == ("county@example.org",)
    assert message["Subject"] == "幸福家园工作台：您有 2 项待办（2024-05-26）"
    body = body_of(message)
    assert "共有 2 项待办" in body
    assert "等待我审核办理的项目：1 项" in body and "7 天内须公示：1 项" in body
    assert "村卫生室修缮" in body and "旗县" in body
    assert "牧区饮水工程" in body and "截止 2024-05-31，待公示" in body
    project_links = [line.strip() for line in body.splitlines() if "/admin/workflow/project/" in line]
    assert len(project_links) == 2 and all(link.startswith("http://127.0.0.1:5000/admin/") for link in project_links)


def test_a_disclosure_due_later_than_seven_days_is_not_in_the_digest(db):
    people = world()
    digest = digest_for(people["county"], ON - dt.timedelta(days=3))  # due in eight days
    assert [s.title for s in digest.sections] == ["等待我审核办理的项目"]
    links = lambda kind, id_: f"https://admin.example.org/{kind}/{id_}"  # noqa: E731
    assert "https://admin.example.org/project/" in digest_body(digest, links, "https://admin.example.org/")


# -- xfjy remind -----------------------------------------------------------------------------------------

def xfjy(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="xfjy")


@pytest.fixture
def cli_world(cli_url):
    assert xfjy("init-db").exit_code == 0
    assert xfjy("load-regions").exit_code == 0
    with bound(cli_url):
        people = world()
    return people


def test_remind_without_mail_server_connects_nowhere(cli_url, smtp, monkeypatch):
    monkeypatch.delenv("XFJY_MAIL_SERVER", raising=False)
    monkeypatch.setenv("XFJY_MAIL_PORT", str(smtp.port))
    result = xfjy("remind", "--on", ON.isoformat())
    assert result.exit_code == 0, result.output
    assert "未配置 MAIL_SERVER，未发送提醒" in result.output
    assert smtp.handler.sessions == 0 and smtp.handler.messages == []


def test_remind_counts_a_refused_recipient_and_still_sends_the_others(cli_world, smtp, monkeypatch):
    addresses = {cli_world["county"].id: "nobody@example.org", cli_world["village"].id: "village@example.org",
                 cli_world["idle"].id: "idle@example.org"}
    monkeypatch.setattr(mail, "user_address", lambda user: addresses.get(user.id))
    monkeypatch.setenv("XFJY_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("XFJY_MAIL_PORT", str(smtp.port))
    monkeypatch.setenv("XFJY_MAIL_FROM", "xfjy@example.org")
    result = xfjy("remind", "--on", ON.isoformat())
    assert result.exit_code == 1, result.output
    assert "nobody@example.org" in result.stderr and "550" in result.stderr
    [(to, message)] = smtp.handler.messages
    assert to == ("village@example.org",)  # the village's own project is due for its disclosure
    assert "7 天内须公示：1 项" in body_of(message)
    # the region and prefecture users of both chains have something waiting too, but no address
    assert "已发送 1 封，失败 1 封" in result.stdout
    assert "无邮箱地址" in result.stdout and "无待办" in result.stdout


def test_remind_sends_to_the_address_in_the_users_grid(cli_world, smtp, monkeypatch, cli_url):
    with bound(cli_url):
        User.update(email="county@example.org").where(User.id == cli_world["county"].id).execute()
    monkeypatch.setenv("XFJY_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("XFJY_MAIL_PORT", str(smtp.port))
    result = xfjy("remind", "--on", ON.isoformat())
    assert result.exit_code == 0, result.output
    assert [to for to, _ in smtp.handler.messages] == [("county@example.org",)]
    assert "已发送 1 封" in result.stdout


def test_remind_dry_run_prints_the_digests_and_sends_nothing(cli_world, smtp, monkeypatch):
    monkeypatch.setattr(mail, "user_address", lambda user: "county@example.org" if user.id == cli_world["county"].id else None)
    monkeypatch.setenv("XFJY_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("XFJY_MAIL_PORT", str(smtp.port))
    result = xfjy("remind", "--dry-run", "--on", ON.isoformat())
    assert result.exit_code == 0, result.output
    assert "收件人：" in result.output and "county@example.org" in result.output
    assert "主题：幸福家园工作台：您有 2 项待办（2024-05-26）" in result.output
    assert smtp.handler.sessions == 0 and smtp.handler.messages == []


def test_remind_counts_every_recipient_failed_when_the_server_is_down(cli_world, monkeypatch):
    monkeypatch.setattr(mail, "user_address", lambda user: f"user{user.id}@example.org")
    monkeypatch.setenv("XFJY_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("XFJY_MAIL_PORT", str(free_port()))  # nothing listens there
    result = xfjy("remind", "--on", ON.isoformat())
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("发送失败")]
    assert len(failed) >= 3 and "已发送 0 封" in result.stdout and f"失败 {len(failed)} 封" in result.stdout


def test_mail_settings_from_the_environment_are_read_as_given():
    config = mail.MailConfig.from_app({"MAIL_SERVER": "smtp.example.org", "MAIL_PORT": "587", "MAIL_USE_TLS": "true",
                                       "MAIL_USERNAME": "xfjy@example.org", "MAIL_PASSWORD": "secret"})
    assert (config.port, config.starttls, config.ssl, config.sender) == (587, True, False, "xfjy@example.org")
    assert "secret" not in repr(config)
    assert mail.MailConfig.from_app({"MAIL_SERVER": " "}) is None
    assert mail.MailConfig.from_app({"MAIL_SERVER": "h", "MAIL_USE_SSL": True}).port == 25


def test_the_sender_logs_in_when_a_username_is_set(db, app):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data))
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"xfjy", b"s3cret")
        return AuthResult(success=ok)

    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        people = world()
        config = mail.MailConfig.from_app({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port,
                                           "MAIL_USERNAME": "xfjy", "MAIL_PASSWORD": "s3cret"})
        outcome = mail.send_digests([(digest_for(people["county"], ON), "county@example.org")], config, mail.Links(app))
    finally:
        controller.stop()
    assert outcome.sent == 1 and len(handler.messages) == 1
    assert [(m, d.login, d.password) for m, d in logins] == [("PLAIN", b"xfjy", b"s3cret")]


def test_money_waiting_to_be_passed_down_is_in_the_digest_with_its_amount(db):
    here = Chain()
    project = advance_to(new_project(here, target=500_000), "use_applied", here)
    digest = digest_for(here.users[Role.REGION], ON)
    [section] = [s for s in digest.sections if s.title.startswith("待拨付")]
    assert section.amount == 500_000 and [i.id for i in section.items] == [project.id]
    body = digest_body(digest, lambda kind, id_: f"/{kind}/{id_}", "/")
    assert "待拨付：善款已到本级，待向下一级拨付：1 项，共 5,000.00 元" in body
    assert f"/project/{project.id}" in body


def test_a_units_digest_lists_its_steps_due_and_the_regions_those_waiting_for_it(app, tmp_path):
    unit = get_area("150100")
    own, region = user(Role.PREFECTURE, unit), user(Role.REGION, get_area("150000"))
    full = Batch.get(Batch.code == "full")
    on = dt.date(2025, 3, 10)  # 全面实施: the 实施方案 is due 2025-03-31
    titles = [section.title for section in digest_for(own, on).sections]
    assert titles == ["实施步骤：待审核、30 天内到期或已逾期"]
    (section,) = digest_for(own, on).sections
    assert "全面实施（一）制定实施方案（呼和浩特市）：截止 2025-03-31" in digest_body(digest_for(own, on), mail.Links(app),
                                                                          "desk")
    assert len(section.items) == 9  # and the two earlier phases' eight steps, overdue
    assert digest_for(region, on).empty  # the region is told what waits for it, not every unit's delay
    with travel(dt.datetime(2025, 3, 9, 9)):
        step = milestones.record(full, unit, 1, done_on=dt.date(2025, 3, 8), actor=own)
        milestones.add_document(tmp_path, step, PDF, "方案.pdf", actor=own)
        milestones.advance(step, "submit", own)
    (waiting,) = digest_for(region, on).sections
    assert [item.detail for item in waiting.items] == ["待自治区审核"]
    assert mail.Links(app)("milestone", 0).endswith("/admin/programme/")
