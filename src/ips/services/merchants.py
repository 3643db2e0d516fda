"""Merchants: registering them, and checking the credentials of their web-service calls."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from ips.crypto.passwords import hash_password, verify_password
from ips.domain.cards import Secret
from ips.domain.errors import AuthenticationFailed, Conflict, InvalidInput, LoginLocked, NotFound
from ips.domain.merchants import (
    BuyerField,
    Merchant,
    parse_callback_url,
    parse_host,
    parse_merchant_id,
)
from ips.domain.money import currency
from ips.domain.notifications import ALLOWED_PORTS, AnswerMode
from ips.domain.orders import OperationKind, PaymentMeans
from ips.services.clock import Clock, utc_now
from ips.services.gateway import Gateway
from ips.services.unit_of_work import UnitOfWorkFactory


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


async def add_merchant(
    cmd: AddMerchant,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    ports: frozenset[int] = ALLOWED_PORTS,
) -> Merchant:
    if not cmd.name.strip():
        raise InvalidInput("the merchant needs a name", field="name")
    if not cmd.login.strip():
        raise InvalidInput("the merchant needs a login", field="login")
    if len(cmd.password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    if not cmd.means:
        raise InvalidInput("the merchant needs a way to pay", field="means")
    if not cmd.secret_word:
        raise InvalidInput("the merchant needs a secret word", field="secret_word")
    callback_url = parse_callback_url(cmd.callback_url, ports) if cmd.callback_url else ""
    merchant = Merchant(
        merchant_id=parse_merchant_id(cmd.merchant_id),
        name=cmd.name.strip(),
        login=cmd.login.strip(),
        password_hash=hash_password(cmd.password),
        secret_word=Secret(cmd.secret_word),
        default_currency=currency(cmd.default_currency),
        created_at=clock(),
        double_stage=cmd.double_stage,
        callback_url=callback_url,
        notify_kinds=cmd.notify_kinds,
        notify_answer=cmd.notify_answer,
        means=cmd.means,
        required_fields=cmd.required_fields,
        require_3ds=cmd.require_3ds,
        allow_disable_3ds=cmd.allow_disable_3ds,
        require_checkvalue=cmd.require_checkvalue,
        checkvalue_legacy_concat=cmd.checkvalue_legacy_concat,
        return_hosts=tuple(parse_host(host) for host in cmd.return_hosts),
    )
    async with uow_factory() as uow:
        if await uow.merchants.get(merchant.merchant_id) is not None:
            raise Conflict(f"merchant {merchant.merchant_id} already exists", field="merchant_id")
        await uow.merchants.add(merchant)
        await uow.commit()
    return merchant


async def list_merchants(uow_factory: UnitOfWorkFactory) -> list[Merchant]:
    async with uow_factory(readonly=True) as uow:
        return await uow.merchants.all()


@dataclass(frozen=True)
class Credentials:
    merchant_id: str
    login: str
    password: str


async def authenticate(credentials: Credentials, gateway: Gateway) -> Merchant:
    """The merchant whose web-service credentials these are.

    Login and password are both checked, always, so a wrong login costs as long as a wrong
    password; the (slow) password check runs after the read, with no transaction open.
    Failures are counted per merchant: answered ever more slowly, then locked a while
    (``domain/logins.py``); a locked login is refused before any password is checked.
    """
    uow_factory, clock = gateway.uow_factory, gateway.clock
    merchant_id = parse_merchant_id(credentials.merchant_id)
    subject = f"ws:{merchant_id}"
    async with uow_factory(readonly=True) as uow:
        merchant = await uow.merchants.get(merchant_id)
        guard = await uow.logins.get(subject, lock=False)
    if merchant is None:
        raise NotFound("no merchant with this Merchant_ID", field="merchant_id")
    if guard.locked(clock()):
        raise LoginLocked("too many failed logins: try again later", field="login")
    login_ok = hmac.compare_digest(merchant.login.encode(), credentials.login.encode())
    password_ok = await verify_password(merchant.password_hash, credentials.password)
    if login_ok and password_ok:
        if guard.failures:
            await _count_login(uow_factory, subject, clock, failed=False)
        return merchant
    pause = await _count_login(uow_factory, subject, clock, failed=True)
    if pause:
        await gateway.sleep(pause.total_seconds())
    if not login_ok:
        raise AuthenticationFailed("wrong login", field="login")
    raise AuthenticationFailed("wrong password", field="password")


async def _count_login(
    uow_factory: UnitOfWorkFactory, subject: str, clock: Clock, *, failed: bool
) -> timedelta:
    """Records a login's outcome; returns the pause before a failure is answered."""
    async with uow_factory() as uow:
        guard = await uow.logins.get(subject)
        pause = guard.fail(clock()) if failed else timedelta(0)
        if not failed:
            guard.succeed()
        await uow.logins.save(guard)
        await uow.commit()
    return pause


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
    return merchant
