"""The CVC across 3-D Secure on several nodes: a buyer who starts paying on one node and comes
back from the issuer's page to another is authorized with the CVC typed on the first; it is
kept sealed in the database for at most 15 minutes, read once, and nothing of it is left
after the authorization."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.engine import make_url

from demobank import Simulator
from ips.crypto.keyring import KeyRing
from ips.domain.responses import ResponseCode
from ips.domain.states import OrderState
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.secure import AuthenticationStatus
from ips.processing.secure_http import HttpThreeDSecure
from ips.services import cvc, janitor
from ips.services.gateway import Gateway
from ips.services.payments import fail_payment
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.tables import kept_cvcs, metadata, orders
from ips.storage.unit_of_work import Database
from tests.fakes import FakeProcessingCenter, FakeThreeDSecure, ManualClock
from tests.integration.test_http_payment import card_form
from tests.integration.test_means_and_3ds import bill, order_page, shop, state, token_of
from tests.nodes import Balancer, buyer
from tests.simulator_browser import new_browser, open_form

CVC = "7391"
"""Four digits no other value of these tests spells: a search of the database finds only it."""
ENROLLED = "4000000000003220"


@pytest.fixture
def secure() -> FakeThreeDSecure:
    return FakeThreeDSecure()


@pytest.fixture
async def nodes(
    database_url: str,
    database: Database,
    keyring: KeyRing,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
    secure: FakeThreeDSecure,
) -> AsyncIterator[list[Gateway]]:
    """Two nodes on one database (each its own engine), one issuer, one processing center."""
    other = Database(create_engine(database_url), keyring)
    yield [
        Gateway(db, fake_processing, keyring, clock=clock, secure=secure)
        for db in (database, other)
    ]
    await other.dispose()


async def to_the_issuer(browser: httpx.AsyncClient, page: str) -> str:
    """Pays with the card of 3-D Secure and ``CVC``; returns where the issuer's page sends
    the buyer back to."""
    token = await token_of(browser, page)
    sent = await browser.post(f"{page}/card", data=card_form(token, ENROLLED, cvc=CVC))
    assert sent.status_code == 303, sent.text
    return parse_qs(urlsplit(sent.headers["location"]).query)["back"][0]


async def test_a_buyer_back_on_another_node_is_authorized_with_the_cvc(
    nodes: list[Gateway],
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
    database: Database,
) -> None:
    await shop(nodes[0])
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        page = await order_page(browser, YMPayment="0")
        back = await to_the_issuer(browser, page)
        secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
        balancer.to = 1
        returned = await browser.get(f"{back}&transaction=acs-1")

    assert returned.headers["location"].startswith("https://shop.example/ok?")
    [authorization] = fake_processing.authorizations
    assert authorization.card.cvc is not None and authorization.card.cvc.reveal() == CVC
    assert await state(database, bill(page)) is OrderState.APPROVED


async def stored_anywhere(database_url: str, needle: str, *, files: bool = True) -> list[str]:
    """Where ``needle`` is found in the database as stored: every row of every table, and the
    database's dump (PostgreSQL) or, with ``files``, its very files (SQLite: the database,
    its WAL), free pages and all."""
    found = []
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            # a random billnumber may hold the needle's digits: they are not the CVC
            billnumbers = list((await conn.execute(select(orders.c.billnumber))).scalars())
            for table in metadata.sorted_tables:
                rows = await conn.execute(select(table))
                found += [
                    f"{table.name}: {row}"
                    for row in rows
                    if needle in _without(repr(tuple(row)), billnumbers)
                ]
    finally:
        await engine.dispose()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        if not files:
            return found
        for path in Path(url.database).parent.glob(Path(url.database).name + "*"):
            if needle.encode() in _without(path.read_bytes(), [b.encode() for b in billnumbers]):
                found.append(str(path))
    else:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        dump = await asyncio.create_subprocess_exec(
            "pg_dump", "--data-only", dsn, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await dump.communicate()
        assert dump.returncode == 0 and b"COPY public.kept_cvcs" in out
        if needle.encode() in _without(out, [b.encode() for b in billnumbers]):
            found.append("pg_dump")
    return found


T = TypeVar("T", str, bytes)


def _without(text: T, parts: list[T]) -> T:
    for part in parts:
        text = text.replace(part, text[:0])
    return text


async def kept(database: Database) -> list[tuple[int, str]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(select(kept_cvcs.c.operation_id, kept_cvcs.c.sealed))
        return [(row.operation_id, row.sealed) for row in rows]


async def test_kept_sealed_for_its_payment_and_gone_after_the_authorization(
    nodes: list[Gateway],
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
    database: Database,
    database_url: str,
    keyring: KeyRing,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await shop(nodes[0])
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        page = await order_page(browser, YMPayment="0")
        back = await to_the_issuer(browser, page)

        [(payment_id, sealed)] = await kept(database)
        assert CVC not in sealed
        assert keyring.open(sealed, f"card security code of payment {payment_id}") == CVC
        with pytest.raises(InvalidTag):  # sealed for this payment: no other row may use it
            keyring.open(sealed, f"card security code of payment {payment_id + 1}")
        assert await stored_anywhere(database_url, CVC) == []

        secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
        balancer.to = 1
        await browser.get(f"{back}&transaction=acs-1")

    [authorization] = fake_processing.authorizations
    assert authorization.card.cvc is not None and authorization.card.cvc.reveal() == CVC
    assert await kept(database) == []
    assert await stored_anywhere(database_url, CVC) == []
    # the sealed value may linger in free space until it is reused (docs/architecture.md)
    assert await stored_anywhere(database_url, sealed, files=False) == []
    assert CVC not in caplog.text


async def test_after_15_minutes_the_cvc_is_gone(
    nodes: list[Gateway],
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
    database: Database,
    clock: ManualClock,
) -> None:
    await shop(nodes[0])
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        for n in (1, 2):
            page = await order_page(browser, YMPayment="0", OrderNumber=f"M-{n}")
            await to_the_issuer(browser, page)
    assert len(await kept(database)) == 2
    clock.advance(minutes=14, seconds=59)
    assert await cvc.purge_expired(nodes[1]) == 0

    clock.advance(seconds=1)
    assert await cvc.purge_expired(nodes[1]) == 2
    assert await kept(database) == []


async def test_the_janitor_purges_a_cvc_its_check_left_behind(
    nodes: list[Gateway], database: Database, clock: ManualClock
) -> None:
    """A payment ended some other way than by its check keeps no CVC past its time."""
    await shop(nodes[0])
    async with buyer(Balancer(nodes)) as browser:
        await to_the_issuer(browser, await order_page(browser, YMPayment="0"))
    [(payment_id, _)] = await kept(database)
    await fail_payment(payment_id, ResponseCode.SYSTEM_ERROR, nodes[0])

    await janitor.sweep(nodes[1], stale_after=timedelta(minutes=1))
    assert len(await kept(database)) == 1
    clock.advance(minutes=15)
    await janitor.sweep(nodes[1], stale_after=timedelta(minutes=1))
    assert await kept(database) == []


async def test_a_return_after_15_minutes_is_authorized_without_it(
    nodes: list[Gateway],
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
    database: Database,
    clock: ManualClock,
) -> None:
    """Its time is up even before the janitor purges it."""
    await shop(nodes[0])
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        page = await order_page(browser, YMPayment="0")
        back = await to_the_issuer(browser, page)
        clock.advance(minutes=15)
        secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
        balancer.to = 1
        await browser.get(f"{back}&transaction=acs-1")
    [authorization] = fake_processing.authorizations
    assert authorization.card.cvc is None
    assert await kept(database) == []


@pytest.mark.parametrize("ending", ["failed", "abandoned"])
async def test_a_check_that_fails_or_is_abandoned_erases_the_cvc(
    nodes: list[Gateway],
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
    database: Database,
    clock: ManualClock,
    ending: str,
) -> None:
    await shop(nodes[0])
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        page = await order_page(browser, YMPayment="0")
        back = await to_the_issuer(browser, page)
        assert len(await kept(database)) == 1
        balancer.to = 1
        if ending == "failed":
            secure.outcomes["acs-1"] = AuthenticationStatus.FAILED
            await browser.get(f"{back}&transaction=acs-1")
        else:
            clock.advance(minutes=14)  # the janitor gives up on the check before the purge
            await janitor.sweep(nodes[1], stale_after=timedelta(minutes=1))
            assert await state(database, bill(page)) is OrderState.IN_PROCESS
            clock.advance(minutes=1, seconds=1)
            await janitor.sweep(nodes[1], stale_after=timedelta(minutes=1))
    assert await state(database, bill(page)) is OrderState.DECLINED
    assert fake_processing.authorizations == []
    assert await kept(database) == []


async def test_returns_to_both_nodes_at_once_authorize_once_with_the_cvc(
    postgres_url: str,
    keyring: KeyRing,
    clock: ManualClock,
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
) -> None:
    engine = create_engine(postgres_url)
    await migrate(engine)
    databases = [Database(engine, keyring), Database(create_engine(postgres_url), keyring)]
    gateways = [
        Gateway(db, fake_processing, keyring, clock=clock, secure=secure) for db in databases
    ]
    try:
        await shop(gateways[0])
        balancers = [Balancer(gateways), Balancer(gateways)]
        balancers[1].to = 1
        async with buyer(balancers[0]) as browser:
            page = await order_page(browser, YMPayment="0")
            back = await to_the_issuer(browser, page)
            secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
            async with buyer(balancers[1]) as same_browser:
                same_browser.cookies = browser.cookies
                returns = await asyncio.gather(
                    *(
                        client.get(f"{back}&transaction=acs-1")
                        for client in (browser, same_browser) * 4
                    )
                )
        assert {r.status_code for r in returns} == {303}
        [authorization] = fake_processing.authorizations
        assert authorization.card.cvc is not None and authorization.card.cvc.reveal() == CVC
        assert await kept(databases[0]) == []
    finally:
        for db in databases:
            await db.dispose()


@dataclasses.dataclass
class Bank:
    simulator: Simulator
    nodes: list[Gateway]


@pytest.fixture
async def bank(
    database_url: str, database: Database, keyring: KeyRing, tmp_path: Path
) -> AsyncIterator[Bank]:
    """The simulator (its ACS over HTTP, its host over ISO 8583) and two nodes, each with its
    own link to it."""
    async with Simulator(tmp_path / "bank.sqlite3") as simulator:
        other = Database(create_engine(database_url), keyring)
        acs = HttpThreeDSecure(simulator.http_url, timeout=5.0)
        links = [
            Iso8583ProcessingCenter(
                "127.0.0.1", simulator.port, terminal_id=terminal, acquirer_id="1", timeout=5.0
            )
            for terminal in ("IPS00001", "IPS00002")
        ]
        try:
            yield Bank(
                simulator,
                [
                    Gateway(db, link, keyring, secure=acs)
                    for db, link in zip((database, other), links, strict=True)
                ],
            )
        finally:
            await asyncio.gather(*(link.close() for link in links))
            await acs.close()
            await other.dispose()


async def test_the_simulator_approves_a_3ds_payment_finished_on_another_node(
    bank: Bank, database: Database
) -> None:
    """The simulator declines an authorization without a CVC (N7): the payment is approved
    only if the CVC came across."""
    await shop(bank.nodes[0])
    balancer = Balancer(bank.nodes)
    async with buyer(balancer) as browser, new_browser() as at_the_bank:
        page = await order_page(browser, YMPayment="0")
        token = await token_of(browser, page)
        sent = await browser.post(f"{page}/card", data=card_form(token, ENROLLED, cvc=CVC))
        challenge = await open_form(at_the_bank, sent.headers["location"])
        passed = await challenge.post(code="1234", action="submit")
        assert passed.status_code == 303
        balancer.to = 1
        returned = await browser.get(passed.headers["location"])

    assert returned.headers["location"].startswith("https://shop.example/ok?")
    assert await state(database, bill(page)) is OrderState.APPROVED
    [hold] = await bank.simulator.ledger.holds()
    assert hold.amount.minor == 100_00
