"""Where notifications may go: the shop's host is resolved when a notification is sent, every
address it has must be public (or in a network the operator allowed), and the connection goes
to the address checked — the HTTP client never looks the name up again.

The names below end in ``.test`` (never in the real DNS) and are answered by ``FakeDns``, put
in place of ``socket.getaddrinfo``: the one resolver IPS, httpx and anyio all reach. So a
lookup by anyone is seen, and a name that resolves differently from one lookup to the next
(DNS rebinding) is made at will. The shops are real HTTP(S) servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ips.callbacks import HttpCallbackSender
from ips.domain.notifications import AnswerMode, Attempt, NotificationStatus, Outcome
from ips.domain.orders import OperationKind, Order, PaymentMeans
from ips.services.gateway import Gateway
from ips.services.merchant_settings import Notifications, change_notifications
from ips.services.merchants import AddMerchant, add_merchant
from ips.services.notifications import Delivery, deliver_due
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.integration.test_notifications import SHOP_ID, paid
from tests.processes import free_port
from tests.shop import Shop

LOOPBACK = (ip_network("127.0.0.0/8"),)
PUBLIC = "93.184.215.14"
"""A public address; nothing is ever sent to it (the tests that resolve to it send nothing,
or resolve again before they send)."""

_system_getaddrinfo = socket.getaddrinfo


@dataclass
class FakeDns:
    """Answers lookups of the names in ``answers``: each lookup takes the next answer, the last
    one repeats; an answer is the name's addresses (none: the name does not exist). A lookup
    of a name in ``hang`` waits for ``release`` first. Other names go to the system."""

    answers: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    def getaddrinfo(
        self, host: bytes | str | None, port: bytes | str | int | None, *args: Any, **kwargs: Any
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return _system_getaddrinfo(host, port, *args, **kwargs)
        self.asked.append(name)
        if name in self.hang:
            self.release.wait(30)
        queue = self.answers[name]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number, 0, 0))
            if ip_address(a).version == 6
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number))
            for a in answer
        ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@dataclass
class HostShop(Shop):
    """A shop that also keeps the ``Host`` header of each notification."""

    hosts: list[str] = field(default_factory=list)

    async def _notify(self, request: Request) -> Response:
        self.hosts.append(request.headers["host"])
        return await super()._notify(request)


@pytest.fixture
async def shop() -> AsyncIterator[HostShop]:
    shop = HostShop()
    await shop.open()
    yield shop
    await shop.close()


@dataclass
class Sending:
    gateway: Gateway
    database: Database
    port: int

    async def merchant(self, url: str) -> None:
        """The operator adds the shop (``ips merchant add``: no address check when saved)."""
        await add_merchant(
            AddMerchant(SHOP_ID, "Notified", "notified", "notified-pw", "salt-4", callback_url=url),
            self.gateway.uow_factory,
            self.gateway.clock,
            frozenset({self.port}),
            actor=SETUP,
        )

    async def move(self, url: str) -> None:
        """The shop's notification URL changed (by the operator, say)."""
        async with self.database() as uow:
            merchant = await uow.merchants.get(SHOP_ID, lock=True)
            assert merchant is not None
            merchant.callback_url = url
            await uow.merchants.save(merchant)
            await uow.commit()

    async def deliver(self, sender: HttpCallbackSender) -> int:
        return await deliver_due(
            Delivery(self.gateway.uow_factory, sender, self.gateway.clock, frozenset({self.port}))
        )

    async def attempts(self, order: Order) -> tuple[NotificationStatus, list[Attempt]]:
        async with self.database(readonly=True) as uow:
            assert order.id is not None
            [notification] = await uow.notifications.of_order(order.id)
        return notification.status, notification.history


@pytest.fixture
def sending(gateway: Gateway, database: Database, shop: HostShop) -> Sending:
    return Sending(gateway, database, shop.port)


@contextlib.asynccontextmanager
async def sender(
    networks: tuple[IPv4Network | IPv6Network, ...] = (), verify: ssl.SSLContext | bool = True
) -> AsyncIterator[HttpCallbackSender]:
    sending = HttpCallbackSender(timeout=2, networks=networks, verify=verify)
    try:
        yield sending
    finally:
        await sending.close()


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("shop.private.test", "127.0.0.1"),
    ],
)
async def test_a_shop_on_a_private_address_is_refused_when_notified(
    sending: Sending, shop: HostShop, dns: FakeDns, host: str, address: str
) -> None:
    dns.answers["shop.private.test"] = [("127.0.0.1",)]
    await sending.merchant(f"http://{host}:{shop.port}/assist/notify")
    order = await paid(sending.gateway)
    async with sender() as post:
        assert await sending.deliver(post) == 1
    assert shop.received == []
    status, [attempt] = await sending.attempts(order)
    assert status is NotificationStatus.PENDING and attempt.outcome is Outcome.NO_ANSWER
    assert "not a public address" in attempt.error and address in attempt.error


async def test_a_name_with_one_address_outside_the_allowed_networks_is_refused(
    sending: Sending, shop: HostShop, dns: FakeDns
) -> None:
    dns.answers["shop.mixed.test"] = [("127.0.0.1", "10.0.0.7")]
    await sending.merchant(f"http://shop.mixed.test:{shop.port}/assist/notify")
    order = await paid(sending.gateway)
    async with sender(LOOPBACK) as post:
        await sending.deliver(post)
    assert shop.received == []
    _, [attempt] = await sending.attempts(order)
    assert "10.0.0.7" in attempt.error and "not a public address" in attempt.error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "shop.private.test"])
async def test_a_shop_in_a_network_the_operator_allowed_is_notified(
    sending: Sending, shop: HostShop, dns: FakeDns, host: str
) -> None:
    dns.answers["shop.private.test"] = [("127.0.0.1",)]
    await sending.merchant(f"http://{host}:{shop.port}/assist/notify")
    order = await paid(sending.gateway)
    async with sender(LOOPBACK) as post:
        assert await sending.deliver(post) == 1
    assert [fields["billnumber"] for fields in shop.received] == [order.billnumber]
    assert shop.hosts == [f"{host}:{shop.port}"]
    assert (await sending.attempts(order))[0] is NotificationStatus.DELIVERED


async def test_a_name_public_when_saved_and_private_when_sent_is_refused(
    sending: Sending, shop: HostShop, dns: FakeDns
) -> None:
    """DNS rebinding: the Personal Account's check sees a public address, the notification
    would reach IPS's own network."""
    dns.answers["shop.rebinding.test"] = [(PUBLIC,), ("127.0.0.1",)]
    await sending.merchant("")
    url = f"http://shop.rebinding.test:{shop.port}/assist/notify"
    wanted = Notifications(
        url,
        frozenset({OperationKind.PAYMENT}),
        AnswerMode.PUSHPAYMENTRESULT,
        frozenset({PaymentMeans.CARD}),
    )
    saved = await change_notifications(
        SHOP_ID, wanted, sending.gateway.uow_factory, frozenset({shop.port})
    )
    assert saved.callback_url == url
    order = await paid(sending.gateway)
    async with sender() as post:
        assert await sending.deliver(post) == 1
    assert shop.received == []
    assert dns.asked == ["shop.rebinding.test"] * 2  # when saved, when sent
    _, [attempt] = await sending.attempts(order)
    assert "not a public address" in attempt.error and "127.0.0.1" in attempt.error


async def test_the_connection_goes_to_the_address_checked(
    sending: Sending, shop: HostShop, dns: FakeDns
) -> None:
    """The name is looked up once per notification, by IPS: a second lookup would answer
    127.0.0.2, where no shop listens."""
    dns.answers["shop.pinned.test"] = [("127.0.0.1",), ("127.0.0.2",)]
    await sending.merchant(f"http://shop.pinned.test:{shop.port}/assist/notify")
    first = await paid(sending.gateway)
    async with sender(LOOPBACK) as post:
        assert await sending.deliver(post) == 1
        assert dns.asked == ["shop.pinned.test"]
        assert [fields["billnumber"] for fields in shop.received] == [first.billnumber]
        assert shop.hosts == [f"shop.pinned.test:{shop.port}"]

        second = await paid(sending.gateway, "5555555555554444")
        assert await sending.deliver(post) == 1  # looked up again, now 127.0.0.2
    assert dns.asked == ["shop.pinned.test"] * 2
    assert len(shop.received) == 1
    status, [attempt] = await sending.attempts(second)
    assert status is NotificationStatus.PENDING and "127.0.0.2" in attempt.error


async def test_a_name_that_does_not_resolve_in_time_is_tried_again_later(
    sending: Sending, shop: HostShop, dns: FakeDns
) -> None:
    dns.answers["shop.missing.test"] = [()]
    dns.answers["shop.slow.test"] = [("127.0.0.1",)]
    dns.hang.add("shop.slow.test")
    await sending.merchant(f"http://shop.missing.test:{shop.port}/assist/notify")
    missing = await paid(sending.gateway)
    try:
        async with sender(LOOPBACK) as post:
            await sending.deliver(post)
            await sending.move(f"http://shop.slow.test:{shop.port}/assist/notify")
            slow = await paid(sending.gateway, "5555555555554444")
            await sending.deliver(post)
    finally:
        dns.release.set()
    assert shop.received == []
    for order, said in ((missing, "does not resolve"), (slow, "did not resolve in")):
        status, [attempt] = await sending.attempts(order)
        assert status is NotificationStatus.PENDING and attempt.outcome is Outcome.NO_ANSWER
        assert said in attempt.error


async def test_a_proxy_named_in_the_environment_is_not_used(
    sending: Sending, shop: HostShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would look the name up itself; notifications go straight to the shop."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, nowhere)
        monkeypatch.setenv(name.lower(), nowhere)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    await sending.merchant(f"http://127.0.0.1:{shop.port}/assist/notify")
    order = await paid(sending.gateway)
    async with sender(LOOPBACK) as post:
        await sending.deliver(post)
    assert [fields["billnumber"] for fields in shop.received] == [order.billnumber]


@dataclass
class Certificates:
    authority: str
    """The PEM of a certification authority made for the test."""
    certfile: Path
    keyfile: Path
    """A certificate for ``shop.tls.test`` only, signed by it, and its key."""


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IPS test authority")])
    authority = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.tls.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.tls.test")]), False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    certfile, keyfile = directory / "shop.pem", directory / "shop.key"
    certfile.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificates(
        authority.public_bytes(serialization.Encoding.PEM).decode(), certfile, keyfile
    )


@contextlib.asynccontextmanager
async def https_shop(certificates: Certificates) -> AsyncIterator[HostShop]:
    """A shop on 127.0.0.1 that speaks TLS only, as ``shop.tls.test``."""
    shop = HostShop()
    app = Starlette(routes=[Route("/assist/notify", shop._notify, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=shop.port, log_level="warning",
        ssl_certfile=certificates.certfile, ssl_keyfile=certificates.keyfile,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield shop
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize(
    ("host", "delivered"), [("shop.tls.test", True), ("other.tls.test", False)]
)
async def test_https_is_checked_against_the_shops_name_not_its_address(
    gateway: Gateway,
    database: Database,
    dns: FakeDns,
    certificates: Certificates,
    host: str,
    delivered: bool,
) -> None:
    """The connection goes to 127.0.0.1, the certificate (which names no address) is checked
    against the URL's name: accepted for its own name, refused for another."""
    dns.answers = {"shop.tls.test": [("127.0.0.1",)], "other.tls.test": [("127.0.0.1",)]}
    authority = ssl.create_default_context(cadata=certificates.authority)
    async with https_shop(certificates) as shop:
        sending = Sending(gateway, database, shop.port)
        await sending.merchant(f"https://{host}:{shop.port}/assist/notify")
        order = await paid(gateway)
        async with sender(LOOPBACK, verify=authority) as post:
            await sending.deliver(post)
    status, [attempt] = await sending.attempts(order)
    if delivered:
        assert status is NotificationStatus.DELIVERED
        assert shop.hosts == [f"shop.tls.test:{shop.port}"]
    else:
        assert shop.received == [] and status is NotificationStatus.PENDING
        assert "certificate" in attempt.error.lower()


async def test_a_connection_checked_for_one_name_carries_no_other_names_notification(
    gateway: Gateway, database: Database, dns: FakeDns, certificates: Certificates
) -> None:
    """Two names at one address: the second notification gets a connection of its own, and
    the certificate is checked against its own name (a kept connection would skip that)."""
    dns.answers = {"shop.tls.test": [("127.0.0.1",)], "other.tls.test": [("127.0.0.1",)]}
    authority = ssl.create_default_context(cadata=certificates.authority)
    async with https_shop(certificates) as shop:
        sending = Sending(gateway, database, shop.port)
        await sending.merchant(f"https://shop.tls.test:{shop.port}/assist/notify")
        first = await paid(gateway)
        async with sender(LOOPBACK, verify=authority) as post:
            await sending.deliver(post)
            await sending.move(f"https://other.tls.test:{shop.port}/assist/notify")
            second = await paid(gateway, "5555555555554444")
            await sending.deliver(post)
    assert [fields["billnumber"] for fields in shop.received] == [first.billnumber]
    status, [attempt] = await sending.attempts(second)
    assert status is NotificationStatus.PENDING and "certificate" in attempt.error.lower()
