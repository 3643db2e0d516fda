"""The operator console's test world: its staff — ``vika`` viewer, ``otto`` operator, ``ada``
admin (with a TOTP secret) — and clients signed in as them (``https://``: the session cookie
is ``Secure``). Pages of the console are tested with ``console.signed_in(login)``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from ips.domain import totp
from ips.domain.audit import Actor, ActorKind
from ips.domain.users import Role
from ips.services.gateway import Gateway
from ips.services.operators import add_operator
from ips.services.unit_of_work import UnitOfWorkFactory
from tests.conftest import make_client
from tests.fakes import ManualClock

PASSWORD = "correct horse battery"
BY_TESTS = Actor(ActorKind.COMMAND, "tests", "host")
"""Who the tests' changes are by, for the audit trail."""
STAFF = {"vika": Role.VIEWER, "otto": Role.OPERATOR, "ada": Role.ADMIN}
ONE_STEP = timedelta(seconds=totp.STEP_SECONDS)


@dataclass
class Console:
    gateway: Gateway
    clock: ManualClock
    secrets: dict[str, str]
    """The administrators' TOTP secrets, by login."""

    def client(self) -> httpx.AsyncClient:
        return make_client(self.gateway, base_url="https://ips.test")

    def code(self, login: str, at: datetime | None = None) -> str:
        """The one-time code of the administrator's authenticator app, now or ``at``."""
        key = totp.key_of(self.secrets[login])
        return totp.code_of(key, totp.step_of(at or self.clock()))

    def next_code(self, login: str) -> str:
        """A code not used yet: the clock moves on to the next 30-second step first (a
        code signs in once)."""
        self.clock.advance(seconds=totp.STEP_SECONDS)
        return self.code(login)

    @asynccontextmanager
    async def signed_in(
        self, login: str, password: str = PASSWORD
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client signed in as ``login`` (an administrator with a fresh code)."""
        async with self.client() as http:
            code = self.next_code(login) if login in self.secrets else ""
            answer = await sign_in(http, login, password, code)
            assert answer.status_code == 303, answer.text
            yield http


async def open_console(
    gateway: Gateway, uow_factory: UnitOfWorkFactory, clock: ManualClock
) -> Console:
    secrets = {}
    for login, role in STAFF.items():
        _, enrolment = await add_operator(login, PASSWORD, role, uow_factory, clock, actor=BY_TESTS)
        if enrolment is not None:
            secrets[login] = enrolment.secret
    return Console(gateway, clock, secrets)


async def sign_in(
    http: httpx.AsyncClient, login: str, password: str, code: str = ""
) -> httpx.Response:
    form = await http.get("/admin/login")
    token = hidden(form.text, "token")
    return await http.post(
        "/admin/login", data={"login": login, "password": password, "code": code, "token": token}
    )


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


async def csrf_of(http: httpx.AsyncClient) -> str:
    """The session's CSRF token, from the console's home page."""
    return hidden((await http.get("/admin")).text, "csrf")
