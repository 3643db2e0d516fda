"""Shared fixtures: databases (SQLite always, PostgreSQL when IPS_TEST_POSTGRES_URL is set),
merchants, the fake and the real processing center, and the web application.

Every test gets a database of its own, copied from a template migrated once per session
(an SQLite file, a PostgreSQL database), so tests never see each other's rows and real
processes can be pointed at it.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url

from demobank.server import Simulator
from ips.config import Settings
from ips.crypto import passwords
from ips.crypto.keyring import KeyRing
from ips.crypto.tokens import FormTokens
from ips.domain.audit import Actor, ActorKind
from ips.domain.merchants import Merchant
from ips.logs.formats import Context
from ips.logs.setup import QUIET
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.unit_of_work import Database
from ips.web.app import create_app
from ips.web.services import Services
from tests import leaks
from tests.fakes import FakeProcessingCenter, ManualClock

POSTGRES_URL = os.environ.get("IPS_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]

MERCHANT = AddMerchant(
    merchant_id="111111",
    name="Test Shop",
    login="shop",
    password="shop-password",
    secret_word="secret",
    double_stage=True,
    return_hosts=("shop.example",),
)


SETUP = Actor(ActorKind.COMMAND, "tests", "localhost")
"""Who the tests' fixtures add and change merchants as (in the audit trail)."""


def pytest_configure(config: pytest.Config) -> None:
    leaks.start(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run fails when its logs hold what must never be logged (``tests/leaks.py``)."""
    leaks.finish(session)


def _dsn(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


class PostgresDatabases:
    """Makes throwaway databases from a migrated template."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.template = f"ips_template_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(_dsn(self.url, make_url(self.url).database or "postgres"))

    async def create_template(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{self.template}"')
        finally:
            await admin.close()
        engine = create_engine(_dsn(self.url, self.template))
        await migrate(engine)
        await engine.dispose()

    async def new(self) -> str:
        name = f"ips_test_{uuid.uuid4().hex[:12]}"
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()
        self.made.append(name)
        return _dsn(self.url, name)

    async def drop_all(self) -> None:
        admin = await self._admin()
        try:
            for name in [*self.made, self.template]:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    if not POSTGRES_URL:
        yield None
        return
    import asyncio

    databases = PostgresDatabases(POSTGRES_URL)
    asyncio.run(databases.create_template())
    yield databases
    asyncio.run(databases.drop_all())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated once per session, copied for each test."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "ips.sqlite3"

    async def migrated() -> None:
        engine = create_engine(f"sqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    asyncio.run(migrated())
    return path


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres: PostgresDatabases | None,
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "ips.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    assert postgres is not None
    return await postgres.new()


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest cost in this process: the same code and the same checks, for
    a millisecond a hash instead of the production cost (64 MiB, about 135 ms here), which
    every merchant and user a fixture adds would pay. Processes a test starts keep the
    production cost."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
async def postgres_url(postgres: PostgresDatabases | None) -> str:
    if postgres is None:
        pytest.skip("IPS_TEST_POSTGRES_URL is not set: this test races on PostgreSQL")
    return await postgres.new()


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing.load_or_create(tmp_path / "ips.key")


@pytest.fixture
async def database(database_url: str, keyring: KeyRing) -> AsyncIterator[Database]:
    engine = create_engine(database_url)
    await migrate(engine)
    db = Database(engine, keyring)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake_processing() -> FakeProcessingCenter:
    return FakeProcessingCenter()


@pytest.fixture
def pauses() -> list[float]:
    """The pauses callers were kept waiting (slowed logins), instead of waiting them."""
    return []


@pytest.fixture
def gateway(
    database: Database,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
    pauses: list[float],
) -> Gateway:
    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    return Gateway(database, fake_processing, database.keyring, clock=clock, sleep=pause)


@pytest.fixture
async def merchant(database: Database, clock: ManualClock) -> Merchant:
    return await add_merchant(MERCHANT, database, clock, actor=SETUP)


@dataclass
class RealProcessing:
    simulator: Simulator
    client: Iso8583ProcessingCenter


@pytest.fixture
async def real_processing(tmp_path: Path) -> AsyncIterator[RealProcessing]:
    """The simulator on a real TCP port, and the ISO 8583 client connected to it."""
    simulator = Simulator(tmp_path / "processing-center.sqlite3")
    await simulator.start()
    client = Iso8583ProcessingCenter(
        "127.0.0.1",
        simulator.port,
        terminal_id=Settings().terminal_id,
        acquirer_id=Settings().acquirer_id,
        timeout=1.0,
    )
    await client.start()
    yield RealProcessing(simulator, client)
    await client.close()
    await simulator.stop()


def make_client(gateway: Gateway, base_url: str = "http://ips.test") -> httpx.AsyncClient:
    """A client of the app; ``https://…`` for the Personal Account, whose cookie is
    ``Secure``."""
    services = Services(gateway, FormTokens(gateway.keyring.derive("form tokens")))
    transport = httpx.ASGITransport(app=create_app(services), client=("203.0.113.7", 50000))
    return httpx.AsyncClient(
        transport=transport, base_url=base_url, headers={"Accept-Language": "en"}
    )


@pytest.fixture
async def client(gateway: Gateway, merchant: Merchant) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(gateway) as http:
        yield http


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A command run in this process (typer's runner) configures logging as its own process
    would (``logs/setup.py``): handlers writing to a standard error the runner closes after,
    IPS's loggers at WARNING. The next test finds logging as the run set it up."""
    root = logging.getLogger()
    handlers = set(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", "ips", *QUIET)}
    yield
    for handler in set(root.handlers) - handlers:
        if any(isinstance(kept, Context) for kept in handler.filters):
            root.removeHandler(handler)
            handler.close()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def no_unhandled_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A request that ended in the app's last-resort handler is a bug, whatever it answered."""
    yield
    unhandled = [r for r in caplog.records if r.levelno >= logging.ERROR and "unhandled" in r.msg]
    assert not unhandled, f"unhandled errors: {[r.getMessage() for r in unhandled]}"
