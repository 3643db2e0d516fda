"""Kept cards: the card of a first order of recurring payments is kept for those payments —
no box to tick, valid until its expiry or the terms' last day, whichever comes first, never
offered to a buyer — beside the card a buyer asked to keep for the shop's customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from ips.crypto.keyring import KeyRing
from ips.domain.cards import Brand
from ips.domain.errors import NotFound, Refused
from ips.domain.kept_cards import KeptCard, charged_card, kept_card_for, recurring_card
from ips.domain.money import Money, currency
from ips.domain.orders import CardSummary, Operation, OperationKind, Order
from ips.domain.recurring import RecurringTerms
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus
from ips.services.kept_cards import keep_if_asked
from ips.services.reversals import PAN_CONTEXT
from ips.services.unit_of_work import UnitOfWork

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
RUB = currency("RUB")
AMOUNT = Money(10000, RUB)


def terms(last_day: date) -> RecurringTerms:
    return RecurringTerms(Money(1000, RUB), Money(20000, RUB), 30, last_day)


def first_order(last_day: date | None = date(2031, 6, 15), customer: str = "") -> Order:
    return Order(
        "1000000000000001",
        "111111",
        "N-1",
        AMOUNT,
        NOW,
        recurring=None if last_day is None else terms(last_day),
        customer_number=customer,
        id=7,
    )


def summary(expiry: str = "12/2031") -> CardSummary:
    return CardSummary("411111****1111", Brand.VISA, expiry, "IVAN PETROV")


@pytest.mark.parametrize(
    ("expiry", "last_day", "valid_until"),
    [
        ("12/2031", date(2031, 6, 15), date(2031, 6, 16)),  # the terms end first
        ("02/2031", date(2031, 6, 15), date(2031, 3, 1)),  # the card expires first
        ("12/2031", date(2031, 12, 31), date(2032, 1, 1)),  # both on one day
    ],
)
def test_a_recurring_card_is_kept_until_its_expiry_or_the_terms_last_day(
    expiry: str, last_day: date, valid_until: date
) -> None:
    kept = recurring_card(first_order(last_day), summary(expiry), "sealed", NOW)

    assert kept is not None
    assert (kept.recurring_order_id, kept.customer_number, kept.pan_mac) == (7, None, None)
    assert kept.valid_until == valid_until
    assert not kept.expired(valid_until - timedelta(days=1))
    assert kept.expired(valid_until)


def test_an_order_without_terms_keeps_no_recurring_card() -> None:
    assert recurring_card(first_order(None), summary(), "sealed", NOW) is None


def test_the_shop_charges_the_recurring_card_of_its_first_order_while_it_is_kept() -> None:
    first = first_order(date(2031, 6, 15))
    kept = recurring_card(first, summary(), "sealed", NOW)

    assert charged_card(first, kept, date(2031, 6, 15)) is kept
    for gone in (None, kept):
        with pytest.raises(Refused) as refused:
            charged_card(first, gone, date(2031, 6, 16))
        assert refused.value.field == "recurring" and "no longer kept" in str(refused.value)
    other = Order("1000000000000002", "111111", "N-2", AMOUNT, NOW, recurring=terms(NOW.date()))
    other.id = 8
    with pytest.raises(Refused):
        charged_card(other, kept, NOW.date())


def test_a_recurring_card_is_nobody_s_to_choose_nor_remove_on_a_page() -> None:
    """Even a row that somehow carried the customer's number is not offered: kept for
    recurring payments it belongs to the first order."""
    order = first_order(None, customer="C-1")
    kept = recurring_card(first_order(customer="C-1"), summary(), "sealed", NOW)
    assert kept is not None
    kept.customer_number = "C-1"

    assert not kept.usable_for(order, NOW.date())
    with pytest.raises(NotFound):
        kept_card_for(order, kept, NOW.date())
    customers = KeptCard("111111", "C-1", summary(), "sealed", "mac", NOW, id=3)
    assert kept_card_for(order, customers, NOW.date()) is customers


class FakeKeptCards:
    def __init__(self) -> None:
        self.kept: list[KeptCard] = []

    async def keep(self, card: KeptCard) -> None:
        self.kept.append(card)


class FakeUnitOfWork:
    """The one repository ``keep_if_asked`` uses."""

    def __init__(self) -> None:
        self.kept_cards = FakeKeptCards()


def paid(keyring: KeyRing, status: OperationStatus, keep_card: bool = False) -> Operation:
    payment = Operation(
        7,
        1,
        OperationKind.PAYMENT,
        AMOUNT,
        NOW,
        card=summary(),
        sealed_pan=keyring.seal("4111111111111111", PAN_CONTEXT),
        keep_card=keep_card,
    )
    payment.finish(status, ResponseCode.SUCCESS, NOW)
    return payment


async def keep(order: Order, payment: Operation, keyring: KeyRing) -> list[KeptCard]:
    uow = FakeUnitOfWork()
    await keep_if_asked(cast(UnitOfWork, uow), order, payment, keyring, NOW)
    return uow.kept_cards.kept


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing.load_or_create(tmp_path / "ips.key")


async def test_a_paid_first_order_keeps_its_card_for_the_recurring_payments(
    keyring: KeyRing,
) -> None:
    payment = paid(keyring, OperationStatus.SUCCESS)

    [kept] = await keep(first_order(date(2031, 6, 15)), payment, keyring)

    assert kept.recurring_order_id == 7 and kept.customer_number is None
    assert kept.sealed_pan == payment.sealed_pan and kept.card == payment.card
    assert kept.valid_until == date(2031, 6, 16) and kept.created_at == NOW


async def test_a_first_order_whose_buyer_also_asked_keeps_the_card_twice(
    keyring: KeyRing,
) -> None:
    payment = paid(keyring, OperationStatus.SUCCESS, keep_card=True)

    kept = await keep(first_order(date(2031, 6, 15), customer="C-1"), payment, keyring)

    assert [(k.recurring_order_id, k.customer_number) for k in kept] == [(7, None), (None, "C-1")]
    assert kept[1].pan_mac and "4111111111111111" not in kept[1].pan_mac
    assert kept[1].valid_until == date(2032, 1, 1)  # the customer's: until the card's expiry


@pytest.mark.parametrize("status", [OperationStatus.DECLINED, OperationStatus.TIMEOUT])
async def test_a_first_order_not_paid_keeps_nothing(
    keyring: KeyRing, status: OperationStatus
) -> None:
    assert await keep(first_order(), paid(keyring, status), keyring) == []


async def test_an_order_without_terms_nor_consent_keeps_nothing(keyring: KeyRing) -> None:
    payment = paid(keyring, OperationStatus.SUCCESS)
    assert await keep(first_order(None, customer="C-1"), payment, keyring) == []
