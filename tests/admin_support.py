"""Driving the admin through Flask's test client: signing in, one signed-in browser per user of a chain, and
reading the flashed messages back."""
from __future__ import annotations

import html as htmllib
import re

from werkzeug.security import generate_password_hash

from db.models import User

from .factories import Chain

LOGIN_PASSWORD = "secret-pass"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_MESSAGE = re.compile(r'<div class="alert alert-(\w+) alert-dismissable">\s*<button[^>]*>&times;</button>\s*(.*?)\s*</div>',
                      flags=re.S)


def csrf_token(page: str) -> str:
    """The CSRF token of a page's form."""
    return _CSRF.search(page).group(1)


def login_token(client) -> str:
    """The CSRF token of the sign-in form."""
    return csrf_token(client.get("/login").get_data(as_text=True))


def login(client, user) -> str:
    """Sign ``user`` in through /login (password ``secret-pass``) and return a CSRF token for later posts."""
    User.update(password_hash=generate_password_hash(LOGIN_PASSWORD, method="pbkdf2:sha256:1000")).where(
        User.id == user.id).execute()
    token = login_token(client)
    response = client.post("/login", data={"username": user.username, "password": LOGIN_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return token


def project_url(project) -> str:
    """A project's workflow page (its buttons and forms)."""
    return f"/admin/workflow/project/{project.id}"


def spending_form(**overrides):
    """The spending (支出) form of a project's page, filled in."""
    form = dict(spent_on="2024-10-08", item="太阳能路灯", payee="土左旗光明照明工程有限公司", amount="2,500.00",
                voucher_no="PZ2024-0031", approved_by="李秀英")
    form.update(overrides)
    return form


class Desk:
    """One signed-in browser per user of a chain."""

    def __init__(self, app, chain: Chain):
        self.app, self.chain, self.clients = app, chain, {}

    def client(self, role_or_user):
        person = self.chain.users[role_or_user] if isinstance(role_or_user, str) else role_or_user
        if person.id not in self.clients:
            client = self.app.test_client()
            self.clients[person.id] = (client, login(client, person))
        return self.clients[person.id]

    def get(self, who, url) -> str:
        client, _ = self.client(who)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def post(self, who, url, data=None, **kwargs) -> str:
        """POST with the user's token; follow the redirect back and return that page (with its messages)."""
        client, token = self.client(who)
        response = client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)
        assert response.status_code == 302, (url, response.status_code, response.get_data(as_text=True)[:500])
        return client.get(response.headers["Location"]).get_data(as_text=True)


def messages(page: str) -> list[tuple[str, str]]:
    """The flashed messages of a page, as (category, text)."""
    return [(category, htmllib.unescape(text)) for category, text in _MESSAGE.findall(page)]


def flashes(page: str) -> list[str]:
    """The flashed messages' texts, whatever their category."""
    return [text for _, text in messages(page)]


def errors(page: str) -> list[str]:
    return [text for category, text in messages(page) if category == "danger"]


def successes(page: str) -> list[str]:
    return [text for category, text in messages(page) if category == "success"]
