"""Merchants: registering them and changing their settings (the ``ips merchant`` commands
and the operator console, each change written in the audit trail with it), and checking the
credentials of their web-service calls."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ips.crypto.passwords import hash_password, verify_password
from ips.domain.acquirers import DEFAULT_ACQUIRER, Route, with_route
from ips.domain.addresses import parse_networks, within
from ips.domain.audit import CHANGED, Actor, Subject
from ips.domain.cards import Secret
from ips.domain.errors import (
    AccessDenied,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    LoginLocked,
    NotFound,
)
from ips.domain.logins import Subjects
from ips.domain.merchants import (
    BuyerField,
    Merchant,
    parse_callback_url,
    parse_host,
    parse_merchant_id,
    settings_of,
    version,
)
from ips.domain.money import currency
from ips.domain.notifications import ALLOWED_PORTS, AnswerMode
from ips.domain.orders import (
    DEFAULT_PAYMENT_ATTEMPTS,
    MAX_PAYMENT_ATTEMPTS,
    OperationKind,
    PaymentMeans,
)
from ips.domain.points import DEFAULT_POINTS_SHARE
from ips.logs.context import about
from ips.services.audit import note
from ips.services.clock import Clock, utc_now
from ips.services.credentials import Check
from ips.services.gateway import Gateway
from ips.services.login_guards import count_attempt, note_success
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

LONGEST_NAME = 200
LONGEST_LOGIN = 100


@dataclass(frozen=True)
class AddMerchant:
    merchant_id: str
    name: str
    login: str
    password: str
    secret_word: str
    default_currency: str = "RUB"
    double_stage: bool = False
    callback_url: str = ""
    require_checkvalue: bool = False
    checkvalue_legacy_concat: bool = False
    return_hosts: tuple[str, ...] = ()
    notify_kinds: frozenset[OperationKind] = frozenset({OperationKind.PAYMENT})
    notify_answer: AnswerMode = AnswerMode.PUSHPAYMENTRESULT
    means: frozenset[PaymentMeans] = frozenset({PaymentMeans.CARD, PaymentMeans.WALLET})
    required_fields: frozenset[BuyerField] = frozenset()
    require_3ds: bool = False
    allow_disable_3ds: bool = False
    ws_addresses: tuple[str, ...] = ()
    """Addresses or networks allowed to call the web services; empty: any."""
    payment_attempts: int = DEFAULT_PAYMENT_ATTEMPTS
    points_share: int = DEFAULT_POINTS_SHARE
    points_accrual: int = 0
    routes: tuple[Route, ...] = ()
    """Where its card payments go (``acquirers.route``); none: to the default acquirer."""


def new_settings() -> dict[str, Any]:
    """The settings a merchant is added with unless told otherwise, as ``settings_of``
    gives them (the console's form for a new merchant)."""
    blank = AddMerchant("", "", "", "", "")
    return settings_of(
        Merchant(
            "", "", "", "", Secret(""), currency(blank.default_currency), utc_now(),
            **{name: getattr(blank, name) for name in _ADDED_AS_IS},
        )
    )  # fmt: skip


_ADDED_AS_IS = (
    "double_stage", "notify_kinds", "notify_answer", "means", "required_fields", "require_3ds",
    "allow_disable_3ds", "require_checkvalue", "checkvalue_legacy_concat", "payment_attempts",
    "points_share", "points_accrual", "routes",
)  # fmt: skip
"""The fields of ``AddMerchant`` that a ``Merchant`` takes unchanged."""


async def add_merchant(
    cmd: AddMerchant,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    ports: frozenset[int] = ALLOWED_PORTS,
    *,
    actor: Actor,
) -> Merchant:
    """Registers the merchant, and writes who did in the audit trail (its secrets as
    ``CHANGED``)."""
    if not cmd.login.strip():
        raise InvalidInput("the merchant needs a login", field="login")
    if len(cmd.login.strip()) > LONGEST_LOGIN:
        raise InvalidInput(f"the login has at most {LONGEST_LOGIN} characters", field="login")
    _check_password(cmd.password)
    _check_secret_word(cmd.secret_word)
    callback_url = parse_callback_url(cmd.callback_url, ports) if cmd.callback_url else ""
    merchant = Merchant(
        merchant_id=parse_merchant_id(cmd.merchant_id),
        name=cmd.name.strip(),
        login=cmd.login.strip(),
        password_hash="",
        secret_word=Secret(cmd.secret_word),
        default_currency=currency(cmd.default_currency),
        created_at=clock(),
        callback_url=callback_url,
        return_hosts=tuple(parse_host(host) for host in cmd.return_hosts),
        ws_addresses=parse_networks(cmd.ws_addresses),
        **{name: getattr(cmd, name) for name in _ADDED_AS_IS},
    )
    _check_settings(merchant)
    merchant.password_hash = await asyncio.to_thread(hash_password, cmd.password)
    async with uow_factory() as uow:
        await _check_routes(uow, merchant.routes)
        if not await uow.merchants.add(merchant):
            raise Conflict(f"merchant {merchant.merchant_id} already exists", field="merchant_id")
        made = {"login": merchant.login, **settings_of(merchant)}
        made |= dict.fromkeys(SECRETS, CHANGED)
        await note(uow, actor, "merchant.add", _subject(merchant), merchant.created_at, None, made)
        await uow.commit()
    return merchant


@dataclass(frozen=True)
class ChangeMerchant:
    """The settings of ``ips merchant set`` and of the console's form: each ``None`` stays
    as it is."""

    name: str | None = None
    password: str | None = field(default=None, repr=False)
    secret_word: str | None = field(default=None, repr=False)
    default_currency: str | None = None
    double_stage: bool | None = None
    callback_url: str | None = None
    require_checkvalue: bool | None = None
    checkvalue_legacy_concat: bool | None = None
    return_hosts: tuple[str, ...] | None = None
    notify_kinds: frozenset[OperationKind] | None = None
    notify_answer: AnswerMode | None = None
    means: frozenset[PaymentMeans] | None = None
    required_fields: frozenset[BuyerField] | None = None
    require_3ds: bool | None = None
    allow_disable_3ds: bool | None = None
    ws_addresses: tuple[str, ...] | None = None
    payment_attempts: int | None = None
    points_share: int | None = None
    points_accrual: int | None = None
    route: Route | None = None
    """A route of its card payments to an acquirer, in place of the one for the same
    currency and brand (``acquirers.with_route``)."""
    routes: tuple[Route, ...] | None = None
    """All its routes, in place of those it has."""
    seen: str | None = None
    """The ``version`` of the settings the change was made over (the console's form): when
    they have changed since, nothing is changed (``STALE``)."""


STALE = "this merchant was changed by someone else meanwhile: here it is as it is now"
SECRETS = ("password", "secret_word")
"""What the audit trail names of a merchant's secrets, and writes only as ``CHANGED``."""


@dataclass(frozen=True)
class Changed:
    """What a change of a merchant did."""

    merchant: Merchant
    """The merchant as it is now."""
    fields: tuple[str, ...]
    """The settings it changed (``settings_of``' names, and ``SECRETS``'); none when every
    one was as asked already."""
    holds_open: int = 0
    """When it switched double-stage off: the merchant's holds still open."""

    @property
    def notice(self) -> str:
        """What the operator is to know beyond "changed"."""
        if "double_stage" not in self.fields or self.merchant.double_stage:
            return ""
        return double_stage_notice(self.holds_open)


def double_stage_notice(holds_open: int) -> str:
    """What switching double-stage off over ``holds_open`` holds means."""
    said = "double-stage is off for new orders"
    if holds_open:
        holds = "1 hold stays" if holds_open == 1 else f"{holds_open} holds stay"
        said += f"; {holds} open until confirmed or released"
    return said


async def change_merchant(
    merchant_id: str,
    cmd: ChangeMerchant,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    ports: frozenset[int] = ALLOWED_PORTS,
    *,
    actor: Actor,
) -> Changed:
    """Changes what ``cmd`` names of the merchant's settings, checked as ``add_merchant``
    checks them. A new password or secret word replaces the old one at once (the Personal
    Account's rotation keeps the old word for a grace period). A new route takes the
    payments that begin from then on: what follows from the authorizations made before goes
    to the acquirer that made them. Double-stage switched off holds for orders made from
    then on: the holds open stay, to be confirmed or released (``Changed.notice``)."""
    given = {name: value for name, value in vars(cmd).items() if value is not None}
    route, seen = given.pop("route", None), given.pop("seen", None)
    password_hash = None
    if "password" in given:
        _check_password(given["password"])
        password_hash = await asyncio.to_thread(hash_password, given.pop("password"))
    if "secret_word" in given:
        _check_secret_word(given["secret_word"])
        given["secret_word"] = Secret(given["secret_word"])
        given["previous_secret_word"] = given["previous_secret_until"] = None
    if "default_currency" in given:
        given["default_currency"] = currency(given["default_currency"])
    if given.get("callback_url"):
        given["callback_url"] = parse_callback_url(given["callback_url"], ports)
    if "return_hosts" in given:
        given["return_hosts"] = tuple(parse_host(host) for host in given["return_hosts"])
    if "ws_addresses" in given:
        given["ws_addresses"] = parse_networks(given["ws_addresses"])

    async def change(merchant: Merchant, uow: UnitOfWork) -> Merchant:
        routes = given.get("routes", merchant.routes)
        if route is not None:
            routes = with_route(routes, route)
        await _check_routes(uow, routes)
        if password_hash is not None:
            merchant.change_ws_password(password_hash)
        updates = {**given, "routes": routes}
        word = given.get("secret_word")
        if word is not None and word.reveal() == merchant.secret_word.reveal():
            for name in ("secret_word", "previous_secret_word", "previous_secret_until"):
                del updates[name]  # the same word again: no rotation, the grace period stays
        return dataclasses.replace(merchant, **updates)

    return await _changing(merchant_id, "merchant.change", change, uow_factory, clock,
                           actor=actor, seen=seen)  # fmt: skip


async def set_disabled(
    merchant_id: str,
    disabled: bool,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    *,
    actor: Actor,
) -> Changed:
    """Stops (or resumes) the merchant's new orders; its confirmations, cancels and web
    services go on."""

    async def change(merchant: Merchant, uow: UnitOfWork) -> Merchant:
        merchant.disabled = disabled
        return merchant

    action = "merchant.disable" if disabled else "merchant.enable"
    return await _changing(merchant_id, action, change, uow_factory, clock, actor=actor)


@dataclass(frozen=True)
class NewPassword:
    merchant: Merchant
    password: str = field(repr=False)
    """The new web-service password, to show once: only its hash is kept."""


async def reset_ws_password(
    merchant_id: str,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    *,
    actor: Actor,
) -> NewPassword:
    """Gives the merchant a new random web-service password in place of its own (which
    works no more, nor a credential remembered of it)."""
    password = new_secret()
    password_hash = await asyncio.to_thread(hash_password, password)

    async def change(merchant: Merchant, uow: UnitOfWork) -> Merchant:
        merchant.change_ws_password(password_hash)
        return merchant

    changed = await _changing(
        merchant_id, "merchant.reset_ws_password", change, uow_factory, clock, actor=actor
    )
    return NewPassword(changed.merchant, password)


def new_secret() -> str:
    """A password or secret word for a merchant, made by IPS: 24 characters of URL-safe
    base64 (144 random bits)."""
    return secrets.token_urlsafe(18)


async def _changing(
    merchant_id: str,
    action: str,
    change: Callable[[Merchant, UnitOfWork], Awaitable[Merchant]],
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    actor: Actor,
    seen: str | None = None,
) -> Changed:
    """The steps of every change of a merchant, in one unit of work: its row locked, the
    settings ``seen`` still its own, ``change`` made on a copy and checked, and when it
    changed anything, the merchant saved with the audit entry of exactly what changed."""
    async with uow_factory() as uow:
        merchant = await uow.merchants.get(merchant_id, lock=True)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id}", field="merchant_id")
        if seen is not None and seen != version(merchant):
            raise Conflict(STALE, field="version")
        changed = await change(dataclasses.replace(merchant), uow)
        _check_settings(changed)
        before, after = settings_of(merchant), settings_of(changed)
        fields = [name for name in after if after[name] != before[name]]
        secret = [
            name
            for name, old, new in (
                ("password", merchant.password_hash, changed.password_hash),
                ("secret_word", merchant.secret_word.reveal(), changed.secret_word.reveal()),
            )
            if old != new
        ]
        if not fields and not secret:
            return Changed(merchant, ())
        holds_open = 0
        if before["double_stage"] and not after["double_stage"]:
            holds_open = await uow.orders.holds_open(merchant_id)
        await uow.merchants.save(changed)
        after |= dict.fromkeys(secret, CHANGED)
        await note(uow, actor, action, _subject(changed), clock(), before, after)
        await uow.commit()
    return Changed(changed, (*fields, *secret), holds_open)


async def _check_routes(uow: UnitOfWork, routes: Iterable[Route]) -> None:
    for name in sorted({r.acquirer for r in routes} - {DEFAULT_ACQUIRER}):
        if not await uow.acquirers.get(name):
            raise NotFound(f"no acquirer {name}", field="acquirer")


def _subject(merchant: Merchant) -> Subject:
    return Subject("merchant", merchant.merchant_id, merchant_id=merchant.merchant_id)


def _check_settings(merchant: Merchant) -> None:
    """What every merchant's settings hold to."""
    if not merchant.name.strip():
        raise InvalidInput("the merchant needs a name", field="name")
    if len(merchant.name) > LONGEST_NAME:
        raise InvalidInput(f"the name has at most {LONGEST_NAME} characters", field="name")
    if not merchant.means - {PaymentMeans.POINTS}:
        raise InvalidInput("the merchant needs a way to pay: a card or the wallet", field="means")
    if not 1 <= merchant.payment_attempts <= MAX_PAYMENT_ATTEMPTS:
        raise InvalidInput(
            f"payment attempts are 1 to {MAX_PAYMENT_ATTEMPTS} an order", field="payment_attempts"
        )
    if not 1 <= merchant.points_share <= 100:
        raise InvalidInput("the points' share is 1 to 100 percent", field="points_share")
    if not 0 <= merchant.points_accrual <= 100:
        raise InvalidInput("the points accrued are 0 to 100 percent", field="points_accrual")


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")


def _check_secret_word(word: str) -> None:
    if not word:
        raise InvalidInput("the merchant needs a secret word", field="secret_word")


async def list_merchants(uow_factory: UnitOfWorkFactory) -> list[Merchant]:
    async with uow_factory(readonly=True) as uow:
        return await uow.merchants.all()


LOCKED = "too many failed logins: try again later"


@dataclass(frozen=True)
class Credentials:
    merchant_id: str
    login: str
    password: str = field(repr=False)
    source: str = ""
    """The caller's address (``web.params.client_ip``): failures are counted per login and
    source."""


async def authenticate(credentials: Credentials, gateway: Gateway) -> Merchant:
    """The merchant whose web-service credentials these are.

    A caller from an address the merchant did not allow is refused first (``AccessDenied``),
    before any password is checked and counting nothing. Failures are counted per login and
    source (``domain/logins.py``); a refused source is refused before any password is
    checked — even the right one, remembered or not.

    A credential verified lately is remembered on the merchant's row (``credentials.py``), so
    the read of the merchant brings it: a keyed hash and a constant-time compare, no argon2.
    Any other is checked in full: login and password both, always, so a wrong login costs as
    long as a wrong password; counted as failed first, on the guards' locked rows, then
    checked with no transaction open, and a success takes the count back and remembers the
    credential. Calls with the same credential from one source while it is being checked wait
    for that check.
    """
    clock, cache = gateway.clock, gateway.credentials
    merchant_id = parse_merchant_id(credentials.merchant_id)
    subjects = Subjects.of(f"ws:{merchant_id}", credentials.source)
    async with gateway.uow_factory(readonly=True) as uow:
        merchant = await uow.merchants.get(merchant_id)
        guards = await uow.logins.guards(subjects, lock=False)
    if merchant is None:
        raise NotFound("no merchant with this Merchant_ID", field="merchant_id")
    about(merchant_id=merchant.merchant_id)
    if merchant.ws_addresses and not within(credentials.source, merchant.ws_addresses):
        raise AccessDenied("this merchant's web services are not open to this address")
    now = clock()
    if guards.refused(now):
        raise LoginLocked(LOCKED, field="login")
    mac = cache.mac(gateway.keyring, merchant, credentials.login, credentials.password)
    if cache.remembered(merchant, mac, now):
        if guards.worth_noting(now):
            async with gateway.uow_factory() as uow:
                await note_success(uow, subjects, clock, counted=False)
                await uow.commit()
        return merchant
    check = await cache.checks.run(
        (mac, subjects.source), lambda: _check(merchant, credentials, subjects, mac, gateway)
    )
    if check.ok:
        return merchant
    if check.pause:
        await gateway.sleep(check.pause.total_seconds())
    if not check.login_ok:
        raise AuthenticationFailed("wrong login", field="login")
    raise AuthenticationFailed("wrong password", field="password")


async def _check(
    merchant: Merchant, credentials: Credentials, subjects: Subjects, mac: str, gateway: Gateway
) -> Check:
    """Counts the attempt, checks it with argon2, and when it succeeds, takes the count back
    and remembers the credential (only if the password it was checked against is still the
    merchant's)."""
    uow_factory, clock, keep = gateway.uow_factory, gateway.clock, gateway.credentials.keep
    _, pause = await count_attempt(subjects, uow_factory, clock, LOCKED)
    login_ok = hmac.compare_digest(merchant.login.encode(), credentials.login.encode())
    password_ok = await verify_password(merchant.password_hash, credentials.password)
    if login_ok and password_ok:
        async with uow_factory() as uow:
            await note_success(uow, subjects, clock, counted=True)
            if keep:
                await uow.merchants.remember_credential(merchant, mac, clock() + keep)
            await uow.commit()
    return Check(login_ok, password_ok, pause)


@dataclass(frozen=True)
class SignedIn:
    """A merchant whose identity the caller has already checked (the Personal Account)."""

    merchant_id: str


Caller = Credentials | SignedIn
"""Who asks for an operation: a web-service call with its credentials, or a signed-in user."""


async def identify(caller: Caller, gateway: Gateway) -> Merchant:
    """The caller's merchant; checked in its own short read, before any lock is taken."""
    if isinstance(caller, Credentials):
        return await authenticate(caller, gateway)
    async with gateway.uow_factory(readonly=True) as uow:
        merchant = await uow.merchants.get(caller.merchant_id)
    if merchant is None:
        raise NotFound("no merchant with this Merchant_ID", field="merchant_id")
    about(merchant_id=merchant.merchant_id)
    return merchant
