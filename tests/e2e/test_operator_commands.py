"""``ips operator add, list, disable, enable, reset-totp`` run as an operator runs them (both
databases), and the operators they make signing in to the console."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ips.crypto.keyring import KeyRing
from ips.domain import totp
from ips.domain.audit import CHANGED, ActorKind
from ips.services.audit import trail
from ips.services.clock import utc_now
from ips.services.gateway import Gateway
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.conftest import make_client
from tests.console import sign_in
from tests.fakes import FakeProcessingCenter
from tests.processes import run_ips

PASSWORD = "a long console password"


def code_now(secret: str, later: int = 0) -> str:
    """The code of now, or of ``later`` steps on (a step is used once: the window lets the
    next one in early)."""
    return totp.code_of(totp.key_of(secret), totp.step_of(utc_now()) + later)


async def test_an_operator_adds_lists_disables_enables_and_resets_the_staff_of_the_console(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "IPS_DATABASE_URL": database_url}

    def ips(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ips("operator", *args, cwd=tmp_path, env=env)

    admin = ips("add", "--login", "root", "--password", PASSWORD, "--role", "admin")
    assert admin.returncode == 0, admin.stderr
    *said, address, secret = admin.stdout.strip().splitlines()
    assert said[0] == "operator root (admin) added"
    assert address == totp.uri(secret, "root") and len(totp.key_of(secret)) == 20
    viewer = ips("add", "--login", "vika", "--password", PASSWORD, "--role", "viewer")
    assert viewer.stdout.strip() == "operator vika (viewer) added"  # nothing secret
    for args, said_why in (
        (("--login", "vika", "--password", PASSWORD, "--role", "viewer"), "this login is taken"),
        (("--login", "bob", "--password", "short", "--role", "viewer"), "10 to 200 characters"),
    ):
        refused = ips("add", *args)
        assert refused.returncode == 1 and said_why in refused.stderr
    assert ips("add", "--login", "bob", "--password", PASSWORD, "--role", "boss").returncode == 2

    listed = ips("list").stdout.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [["root", "admin"], ["vika", "viewer"]]
    assert secret not in "".join(listed)

    database = Database(create_engine(database_url), KeyRing.load_or_create(tmp_path / "ips.key"))
    gateway = Gateway(database, FakeProcessingCenter(), database.keyring, clock=utc_now)
    try:
        async with make_client(gateway, "https://ips.test") as http:
            assert (await sign_in(http, "root", PASSWORD, code_now(secret))).status_code == 303
            assert (await sign_in(http, "vika", PASSWORD)).status_code == 303

            assert ips("disable", "--login", "vika").returncode == 0
            assert "disabled" in ips("list").stdout.splitlines()[2]
            assert (await sign_in(http, "vika", PASSWORD)).status_code == 403
            assert ips("enable", "--login", "vika").returncode == 0
            assert (await sign_in(http, "vika", PASSWORD)).status_code == 303

            reset = ips("reset-totp", "--login", "root")
            assert reset.returncode == 0, reset.stderr
            new_secret = reset.stdout.strip().splitlines()[-1]
            assert new_secret != secret
            old = await sign_in(http, "root", PASSWORD, code_now(secret, later=1))
            assert old.status_code == 401
            new = await sign_in(http, "root", PASSWORD, code_now(new_secret, later=1))
            assert new.status_code == 303
        for command, said_why in (
            (("reset-totp", "--login", "vika"), "only an administrator"),
            (("disable", "--login", "ghost"), "no operator with this login"),
        ):
            refused = ips(*command)
            assert refused.returncode == 1 and said_why in refused.stderr

        entries = await trail(database)  # one each, newest first; nothing of a refused one
        assert [(e.action, e.subject.key) for e in entries] == [
            ("operator.reset_totp", "root"), ("operator.enable", "vika"),
            ("operator.disable", "vika"), ("operator.add", "vika"), ("operator.add", "root"),
        ]  # fmt: skip
        assert {e.actor.kind for e in entries} == {ActorKind.COMMAND}
        assert entries[-1].after == {"role": "admin", "password": CHANGED, "totp_secret": CHANGED}
        assert (entries[2].before, entries[2].after) == ({"state": "active"}, {"state": "disabled"})
    finally:
        await database.dispose()
