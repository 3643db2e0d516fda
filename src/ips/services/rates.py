"""Exchange rates: set by the operator, used when the acquirer does not take the
order's currency (the payment is then made in another one, converted at the rate)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ips.domain.acquirers import Acquirer
from ips.domain.audit import Actor, Subject
from ips.domain.errors import InvalidInput, Refused
from ips.domain.merchants import Merchant
from ips.domain.money import Money, currency
from ips.domain.rates import Rate, parse_rate
from ips.services.audit import note
from ips.services.clock import Clock, utc_now
from ips.services.gateway import Gateway
from ips.services.routing import acquirer_for
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class SetRate:
    source: str
    target: str
    rate: str


async def set_rate(
    cmd: SetRate, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now, *, actor: Actor
) -> Rate:
    rate = Rate(currency(cmd.source), currency(cmd.target), parse_rate(cmd.rate), clock())
    if rate.source == rate.target:
        raise InvalidInput("a rate converts between two different currencies", field="currency")
    async with uow_factory() as uow:
        earlier = await uow.rates.current(rate.source, rate.target, rate.valid_from)
        await uow.rates.add(rate)
        await note(
            uow, actor, "rate.set", Subject("rate", f"{rate.source.code}/{rate.target.code}"),
            rate.valid_from, before={"rate": str(earlier.value) if earlier else None},
            after={"rate": str(rate.value)},
        )  # fmt: skip
        await uow.commit()
    return rate


async def rate_history(uow_factory: UnitOfWorkFactory) -> list[Rate]:
    async with uow_factory(readonly=True) as uow:
        return await uow.rates.history()


@dataclass(frozen=True)
class Quote:
    """What the buyer pays for an order: its amount, or that amount converted."""

    amount: Money
    rate: Decimal | None = None


async def quote(
    uow: UnitOfWork,
    amount: Money,
    merchant: Merchant,
    gateway: Gateway,
    acquirer: Acquirer | None = None,
) -> Quote:
    """The payment for ``amount``: in its own currency when the acquirer takes it, else in
    the merchant's currency (or the acquirer's first) at the current rate. ``acquirer``: the
    payment's; by default the one the merchant's routes give for the currency."""
    rules = (acquirer or acquirer_for(gateway, merchant, amount.currency)).rules
    if rules.takes(amount.currency):
        return Quote(amount)
    target = (
        merchant.default_currency if rules.takes(merchant.default_currency) else rules.currencies[0]
    )
    rate = await uow.rates.current(amount.currency, target, gateway.clock())
    if rate is None:
        raise Refused(
            f"payments in {amount.currency} are not possible: no rate to {target} is set",
            field="currency",
        )
    return Quote(rate.convert(amount), rate.value)
