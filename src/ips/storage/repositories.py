"""Repositories: the domain's entities in and out of the tables, one explicit query at a time."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Row, and_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.crypto.keyring import KeyRing
from ips.domain.acquirers import format_routes, parse_routes
from ips.domain.books import Books
from ips.domain.cards import Brand, Secret
from ips.domain.merchants import BuyerField, Merchant
from ips.domain.money import Currency, Money, currency
from ips.domain.notifications import AnswerMode
from ips.domain.orders import (
    Buyer,
    CancelReason,
    CardSummary,
    Language,
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    ReturnUrls,
    Transaction,
    TransactionKind,
)
from ips.domain.rates import Rate
from ips.domain.recurring import RecurringTerms
from ips.domain.responses import ResponseCode
from ips.domain.settlement import BatchStatus, SettlementBatch
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.storage.database import dialect_insert
from ips.storage.tables import (
    BOOKS,
    exchange_rates,
    merchants,
    operations,
    orders,
    settlement_batches,
    transactions,
)

_LIVE_POINTS_PAYMENT = text(
    "operations.kind = '100' AND operations.status IN ('in_process', 'success')"
    " AND operations.means = 'points'"
)
"""``uq_operations_live_points``'s condition, as it says it: so SQLite, which uses a partial
index only for a query that repeats its terms, finds the points payments in process by it."""

_HOLDING = (OrderState.DELAYED, OrderState.PARTIAL_DELAYED, OrderState.PARTIAL_CANCELED)
"""The states in which an order may still hold money unconfirmed (``ix_orders_merchant_state``
finds them)."""

Track = Callable[[Any], None]
E = TypeVar("E")

_SEAL_CONTEXT = "merchant secret word"

# The statements of a payment's path, built once: SQLAlchemy then neither rebuilds them nor
# recomputes their cache keys on every call (a third of the cost of each statement).
_MERCHANT = select(merchants).where(merchants.c.merchant_id == bindparam("merchant_id"))
_MERCHANT_LOCKED = _MERCHANT.with_for_update()
_ORDER_WHERE = {
    "billnumber": orders.c.billnumber == bindparam("key"),
    "id": orders.c.id == bindparam("key"),
    "transaction": orders.c.id
    == select(transactions.c.order_id)
    .where(transactions.c.id == bindparam("key"))
    .scalar_subquery(),
}
_ORDER = {
    (by, lock): select(orders).where(where).with_for_update()
    if lock
    else select(orders).where(where)
    for by, where in _ORDER_WHERE.items()
    for lock in (False, True)
}
_SAVE_ORDER = update(orders).where(orders.c.id == bindparam("order_id"))
_ORDERNUMBER_TAKEN = select(
    exists().where(
        orders.c.merchant_id == bindparam("merchant_id"),
        orders.c.ordernumber == bindparam("ordernumber"),
        orders.c.holds_ordernumber,
    )
)
_OPERATIONS_OF_ORDER = (
    select(operations)
    .where(operations.c.order_id == bindparam("order_id"))
    .order_by(operations.c.number)
)
_OPERATION = select(operations).where(operations.c.id == bindparam("operation_id"))
_SAVE_OPERATION = update(operations).where(operations.c.id == bindparam("operation_id"))
_TRANSACTION = select(transactions).where(transactions.c.id == bindparam("transaction_id"))
_SAVE_TRANSACTION = update(transactions).where(transactions.c.id == bindparam("transaction_id"))


class MerchantRepository:
    def __init__(self, conn: AsyncConnection, keyring: KeyRing) -> None:
        self._conn = conn
        self._keyring = keyring

    async def get(self, merchant_id: str, *, lock: bool = False) -> Merchant | None:
        query = _MERCHANT_LOCKED if lock else _MERCHANT
        row = (await self._conn.execute(query, {"merchant_id": merchant_id})).first()
        return None if row is None else self._merchant(row)

    async def add(self, merchant: Merchant) -> bool:
        """Adds the merchant; False, adding nothing, when its id is taken."""
        insert_merchant = dialect_insert(self._conn)
        added = await self._conn.execute(
            insert_merchant(merchants)
            .values(
                merchant_id=merchant.merchant_id,
                created_at=merchant.created_at,
                **self._values(merchant),
            )
            .on_conflict_do_nothing(index_elements=[merchants.c.merchant_id])
            .returning(merchants.c.merchant_id)
        )
        return added.scalar() is not None

    async def save(self, merchant: Merchant) -> None:
        """Stores every setting of the merchant as it is now."""
        await self._conn.execute(
            update(merchants)
            .where(merchants.c.merchant_id == merchant.merchant_id)
            .values(**self._values(merchant))
        )

    def _values(self, merchant: Merchant) -> dict[str, Any]:
        previous = merchant.previous_secret_word
        return {
            "name": merchant.name,
            "login": merchant.login,
            "password_hash": merchant.password_hash,
            "sealed_secret_word": self._keyring.seal(merchant.secret_word.reveal(), _SEAL_CONTEXT),
            "sealed_previous_secret_word": (
                self._keyring.seal(previous.reveal(), _SEAL_CONTEXT) if previous else None
            ),
            "previous_secret_until": merchant.previous_secret_until,
            "default_currency": merchant.default_currency.code,
            "double_stage": merchant.double_stage,
            "callback_url": merchant.callback_url,
            "require_checkvalue": merchant.require_checkvalue,
            "checkvalue_legacy_concat": merchant.checkvalue_legacy_concat,
            "return_hosts": " ".join(merchant.return_hosts),
            "means": _words(merchant.means),
            "required_fields": _words(merchant.required_fields),
            "require_3ds": merchant.require_3ds,
            "allow_disable_3ds": merchant.allow_disable_3ds,
            "notify_kinds": _words(merchant.notify_kinds),
            "notify_answer": merchant.notify_answer.value,
            "ws_addresses": " ".join(merchant.ws_addresses),
            "ws_credential_mac": merchant.credential_mac or None,
            "ws_credential_until": merchant.credential_until,
            "payment_attempts": merchant.payment_attempts,
            "points_share": merchant.points_share,
            "points_accrual": merchant.points_accrual,
            "disabled": merchant.disabled,
            "routes": format_routes(merchant.routes),
        }

    async def remember_credential(self, merchant: Merchant, mac: str, until: datetime) -> bool:
        """Remembers a web-service credential verified against the merchant's password hash,
        if that is still its hash (a password changed meanwhile is not brought back)."""
        written = await self._conn.execute(
            update(merchants)
            .where(
                merchants.c.merchant_id == merchant.merchant_id,
                merchants.c.password_hash == merchant.password_hash,
            )
            .values(ws_credential_mac=mac, ws_credential_until=until)
        )
        return bool(written.rowcount)

    async def many(self, merchant_ids: Collection[str]) -> list[Merchant]:
        rows = await self._conn.execute(
            select(merchants).where(merchants.c.merchant_id.in_(merchant_ids))
        )
        return [self._merchant(row) for row in rows]

    async def all(self) -> list[Merchant]:
        rows = await self._conn.execute(select(merchants).order_by(merchants.c.merchant_id))
        return [self._merchant(row) for row in rows]

    async def search(self, text: str, after: str | None, limit: int) -> list[Merchant]:
        """Up to ``limit`` merchants by id, after ``after``: those whose id begins with
        ``text``, or whose name or login holds it, in any case (``database._lower``)."""
        query = select(merchants).order_by(merchants.c.merchant_id).limit(limit)
        if text:
            lowered = text.lower()
            query = query.where(
                or_(
                    merchants.c.merchant_id.startswith(text, autoescape=True),
                    func.lower(merchants.c.name).contains(lowered, autoescape=True),
                    func.lower(merchants.c.login).contains(lowered, autoescape=True),
                )
            )
        if after is not None:
            query = query.where(merchants.c.merchant_id > after)
        return [self._merchant(row) for row in await self._conn.execute(query)]

    def _merchant(self, row: Row[Any]) -> Merchant:
        return Merchant(
            merchant_id=row.merchant_id,
            name=row.name,
            login=row.login,
            password_hash=row.password_hash,
            secret_word=Secret(self._keyring.open(row.sealed_secret_word, _SEAL_CONTEXT)),
            default_currency=currency(row.default_currency),
            double_stage=row.double_stage,
            callback_url=row.callback_url,
            require_checkvalue=row.require_checkvalue,
            checkvalue_legacy_concat=row.checkvalue_legacy_concat,
            return_hosts=tuple(row.return_hosts.split()),
            means=frozenset(PaymentMeans(word) for word in row.means.split()),
            required_fields=frozenset(BuyerField(word) for word in row.required_fields.split()),
            require_3ds=row.require_3ds,
            allow_disable_3ds=row.allow_disable_3ds,
            notify_kinds=frozenset(OperationKind(kind) for kind in row.notify_kinds.split()),
            notify_answer=AnswerMode(row.notify_answer),
            previous_secret_word=(
                Secret(self._keyring.open(row.sealed_previous_secret_word, _SEAL_CONTEXT))
                if row.sealed_previous_secret_word
                else None
            ),
            previous_secret_until=row.previous_secret_until,
            ws_addresses=tuple(row.ws_addresses.split()),
            payment_attempts=row.payment_attempts,
            points_share=row.points_share,
            points_accrual=row.points_accrual,
            disabled=row.disabled,
            routes=parse_routes(row.routes),
            credential_mac=row.ws_credential_mac or "",
            credential_until=row.ws_credential_until,
            created_at=row.created_at,
        )


class _Tracking:
    """A repository whose entities the unit of work follows (to write their events)."""

    def __init__(self, conn: AsyncConnection, track: Track) -> None:
        self._conn = conn
        self._track = track

    def _tracked(self, entities: list[E]) -> list[E]:
        for entity in entities:
            self._track(entity)
        return entities


def _words(values: Collection[enum.Enum]) -> str:
    """A set of enum values in one column, space-separated."""
    return " ".join(sorted(str(value.value) for value in values))


def _order_values(order: Order) -> dict[str, Any]:
    books = order.books
    return {
        "state": order.state.value,
        "buyer": dataclasses.asdict(order.buyer),
        "holds_ordernumber": order.holds_ordernumber,
        "updated_at": order.updated_at or order.created_at,
        "books_currency": books.currency.code if books else None,
        **{name: getattr(books, name) if books else 0 for name in BOOKS},
    }


def _order(row: Row[Any]) -> Order:
    return Order(
        id=row.id,
        billnumber=row.billnumber,
        merchant_id=row.merchant_id,
        ordernumber=row.ordernumber,
        amount=Money(row.amount_minor, currency(row.currency)),
        created_at=row.created_at,
        delay=row.delay,
        language=Language(row.language) if row.language else None,
        comment=row.comment,
        buyer=Buyer(**row.buyer),
        return_urls=ReturnUrls(ok=row.url_return_ok, no=row.url_return_no, default=row.url_return),
        state=OrderState(row.state),
        books=Books(currency(row.books_currency), **{name: row._mapping[name] for name in BOOKS})
        if row.books_currency
        else None,
        means=frozenset(PaymentMeans(word) for word in row.means.split()),
        disable_3ds=row.disable_3ds,
        recurring=_terms(row.recurring, currency(row.currency)),
        recurring_of=row.recurring_of,
        customer_number=row.customer_number or "",
        max_points=row.max_points,
        holds_ordernumber=row.holds_ordernumber,
        updated_at=row.updated_at,
    )


def _terms_row(terms: RecurringTerms | None) -> dict[str, Any] | None:
    if terms is None:
        return None
    return {
        "min": terms.min_amount.minor,
        "max": terms.max_amount.minor,
        "period_days": terms.period_days,
        "until": terms.max_date.isoformat(),
    }


def _terms(row: dict[str, Any] | None, cur: Currency) -> RecurringTerms | None:
    if row is None:
        return None
    return RecurringTerms(
        Money(row["min"], cur),
        Money(row["max"], cur),
        row["period_days"],
        date.fromisoformat(row["until"]),
    )


class OrderRepository(_Tracking):
    async def add(self, order: Order) -> bool:
        """Adds the order; False, adding nothing, when its billnumber is taken."""
        insert_order = dialect_insert(self._conn)
        result = await self._conn.execute(
            insert_order(orders)
            .values(
                billnumber=order.billnumber,
                merchant_id=order.merchant_id,
                ordernumber=order.ordernumber,
                amount_minor=order.amount.minor,
                currency=order.amount.currency.code,
                delay=order.delay,
                language=order.language.value if order.language else "",
                comment=order.comment,
                url_return=order.return_urls.default,
                url_return_ok=order.return_urls.ok,
                url_return_no=order.return_urls.no,
                means=_words(order.means),
                disable_3ds=order.disable_3ds,
                recurring=_terms_row(order.recurring),
                recurring_of=order.recurring_of,
                customer_number=order.customer_number or None,
                max_points=order.max_points,
                created_at=order.created_at,
                **_order_values(order),
            )
            .on_conflict_do_nothing(index_elements=[orders.c.billnumber])
            .returning(orders.c.id)
        )
        order.id = result.scalar()
        if order.id is None:
            return False
        self._track(order)
        return True

    async def get(self, billnumber: str, *, lock: bool = False) -> Order | None:
        return await self._by("billnumber", billnumber, lock)

    async def get_by_id(self, order_id: int, *, lock: bool = False) -> Order | None:
        return await self._by("id", order_id, lock)

    async def of_transaction(self, transaction_id: int, *, lock: bool = False) -> Order | None:
        return await self._by("transaction", transaction_id, lock)

    async def _by(self, by: str, key: str | int, lock: bool) -> Order | None:
        row = (await self._conn.execute(_ORDER[by, lock], {"key": key})).first()
        return None if row is None else self._tracked([_order(row)])[0]

    async def waiting_on_points(self, before: datetime) -> list[str]:
        rows = await self._conn.execute(
            select(orders.c.billnumber)
            .join(operations, operations.c.order_id == orders.c.id)
            .where(
                _LIVE_POINTS_PAYMENT,
                operations.c.status == OperationStatus.IN_PROCESS.value,
                operations.c.begun_at < before,
            )
            .order_by(orders.c.id)
        )
        return [row.billnumber for row in rows]

    async def lock_unpaid_since_before(self, moment: datetime, limit: int) -> list[Order]:
        """Orders created before ``moment`` still ``In Process``, locked, but those with an
        exchange on which money may have moved (``Transaction.may_have_moved_money``: an
        authorization awaiting its answer, a wallet payment the provider named); those
        another caller holds are skipped (``SKIP LOCKED``), so two janitors share the work."""
        moving = exists().where(
            transactions.c.order_id == orders.c.id,
            transactions.c.status.in_(
                [TransactionStatus.SENT.value, TransactionStatus.UNKNOWN.value]
            ),
            or_(
                transactions.c.kind == TransactionKind.AUTHORIZATION.value,
                and_(
                    transactions.c.kind == TransactionKind.WALLET_PAYMENT.value,
                    transactions.c.reference.is_not(None),
                ),
            ),
        )
        query = (
            select(orders)
            .where(
                orders.c.state == OrderState.IN_PROCESS.value,
                orders.c.created_at < moment,
                ~moving,
            )
            .order_by(orders.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self._tracked([_order(row) for row in await self._conn.execute(query)])

    async def holding_since_before(self, moment: datetime, limit: int) -> list[int]:
        paid_before = exists().where(
            operations.c.order_id == orders.c.id,
            operations.c.kind == OperationKind.PAYMENT.value,
            operations.c.status == OperationStatus.SUCCESS.value,
            operations.c.finished_at < moment,
        )
        unconfirmed = (
            orders.c.held - orders.c.confirmed - orders.c.released - orders.c.hold_cancelled
        )
        query = (
            select(orders.c.id)
            .where(unconfirmed > 0, paid_before)
            .order_by(orders.c.id)
            .limit(limit)
        )
        return list((await self._conn.execute(query)).scalars())

    async def holds_open(self, merchant_id: str) -> int:
        """How many of the merchant's orders hold money neither confirmed nor given back."""
        query = select(func.count()).where(
            orders.c.merchant_id == merchant_id,
            orders.c.state.in_([s.value for s in _HOLDING]),
            orders.c.held > orders.c.confirmed + orders.c.released + orders.c.hold_cancelled,
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def last_recurring(self, first_id: int) -> datetime | None:
        """When the latest recurring payment of the first order was asked for, unless it
        failed (an order still waiting for its payment counts)."""
        failed = [OrderState.DECLINED.value, OrderState.TIMEOUT.value]
        query = select(func.max(orders.c.created_at)).where(
            orders.c.recurring_of == first_id, orders.c.state.not_in(failed)
        )
        moment: datetime | None = (await self._conn.execute(query)).scalar()
        return moment

    async def many(self, order_ids: Collection[int]) -> list[Order]:
        rows = await self._conn.execute(select(orders).where(orders.c.id.in_(order_ids)))
        return self._tracked([_order(row) for row in rows]) if order_ids else []

    async def lock_many(self, order_ids: Collection[int]) -> list[Order]:
        """Locks the orders in the order of their ids, so that two callers never wait on
        each other crosswise."""
        if not order_ids:
            return []
        rows = await self._conn.execute(
            select(orders).where(orders.c.id.in_(order_ids)).order_by(orders.c.id).with_for_update()
        )
        return self._tracked([_order(row) for row in rows])

    async def lock_if_free(self, order_id: int) -> Order | None:
        """The order, locked; None when another caller holds its lock (``SKIP LOCKED``)."""
        query = select(orders).where(orders.c.id == order_id).with_for_update(skip_locked=True)
        row = (await self._conn.execute(query)).first()
        return None if row is None else self._tracked([_order(row)])[0]

    async def save(self, order: Order, payment: Operation | None = None) -> None:
        parameters = {"order_id": order.id, **_order_values(order)}
        if payment is not None:
            parameters.update(payment_of_order(payment))
        await self._conn.execute(_SAVE_ORDER, parameters)

    async def of_ordernumber(
        self, merchant_id: str, ordernumber: str, since: datetime, until: datetime
    ) -> list[Order]:
        rows = await self._conn.execute(
            select(orders)
            .where(
                orders.c.merchant_id == merchant_id,
                orders.c.ordernumber == ordernumber,
                orders.c.created_at.between(since, until),
            )
            .order_by(orders.c.created_at, orders.c.id)
        )
        return [_order(row) for row in rows]

    async def ordernumber_taken(self, merchant_id: str, ordernumber: str) -> bool:
        parameters = {"merchant_id": merchant_id, "ordernumber": ordernumber}
        return bool((await self._conn.execute(_ORDERNUMBER_TAKEN, parameters)).scalar())


def _operation_values(operation: Operation) -> dict[str, Any]:
    """What may change of an operation: the payment's way, card and amount until it begins
    (``Order.chosen_payment``), its outcome after."""
    card = operation.card
    return {
        "amount_minor": operation.amount.minor,
        "currency": operation.amount.currency.code,
        "means": operation.means.value,
        "masked_pan": card.masked_pan if card else None,
        "card_brand": card.brand.value if card else None,
        "card_expiry": card.expiry if card else None,
        "cardholder": card.holder if card else None,
        "sealed_pan": operation.sealed_pan,
        "client_ip": operation.client_ip,
        "keep_card": operation.keep_card,
        "points": operation.points or None,
        "points_account": operation.points_account or None,
        "begun_at": operation.begun_at,
        "acquirer": operation.acquirer or None,
        "rate": str(operation.rate) if operation.rate is not None else None,
        "cancel_reason": operation.cancel_reason.value if operation.cancel_reason else None,
        "external_refund_id": operation.external_refund_id or None,
        "status": operation.status.value,
        "response_code": operation.response_code.value if operation.response_code else None,
        "approval_code": operation.approval_code,
        "finished_at": operation.finished_at,
    }


def _operation(row: Row[Any]) -> Operation:
    card = None
    if row.masked_pan is not None:
        card = CardSummary(
            masked_pan=row.masked_pan,
            brand=Brand(row.card_brand),
            expiry=row.card_expiry,
            holder=row.cardholder,
        )
    return Operation(
        id=row.id,
        order_id=row.order_id,
        number=row.number,
        kind=OperationKind(row.kind),
        amount=Money(row.amount_minor, currency(row.currency)),
        created_at=row.created_at,
        means=PaymentMeans(row.means),
        card=card,
        sealed_pan=row.sealed_pan,
        client_ip=row.client_ip,
        keep_card=row.keep_card,
        points=row.points or 0,
        points_account=row.points_account or "",
        begun_at=row.begun_at,
        acquirer=row.acquirer or "",
        rate=Decimal(row.rate) if row.rate is not None else None,
        cancel_reason=CancelReason(row.cancel_reason) if row.cancel_reason else None,
        external_refund_id=row.external_refund_id or "",
        status=OperationStatus(row.status),
        response_code=ResponseCode(row.response_code) if row.response_code else None,
        approval_code=row.approval_code,
        finished_at=row.finished_at,
    )


def payment_of_order(payment: Operation) -> dict[str, Any]:
    """What the order's row repeats of its latest payment operation (for the Order Monitor):
    the way of paying and the card, which a payment operation never changes once begun."""
    masked_pan = payment.card.masked_pan if payment.card else None
    return {
        "payment_means": payment.means.value,
        "masked_pan": masked_pan,
        "card_last4": masked_pan[-4:] if masked_pan else None,
    }


class OperationRepository(_Tracking):
    async def add(self, operation: Operation) -> None:
        result = await self._conn.execute(
            insert(operations)
            .values(
                order_id=operation.order_id,
                number=operation.number,
                kind=operation.kind.value,
                created_at=operation.created_at,
                **_operation_values(operation),
            )
            .returning(operations.c.id)
        )
        operation.id = result.scalar_one()
        self._track(operation)

    async def get(self, operation_id: int) -> Operation | None:
        row = (await self._conn.execute(_OPERATION, {"operation_id": operation_id})).first()
        return None if row is None else self._tracked([_operation(row)])[0]

    async def many(self, ids: Collection[int]) -> list[Operation]:
        return await self._select(operations.c.id.in_(ids)) if ids else []

    async def save(self, operation: Operation) -> None:
        parameters = {"operation_id": operation.id, **_operation_values(operation)}
        await self._conn.execute(_SAVE_OPERATION, parameters)

    async def by_external_refund_id(self, order_id: int, external_id: str) -> Operation | None:
        found = await self._select(
            operations.c.order_id == order_id, operations.c.external_refund_id == external_id
        )
        return found[0] if found else None

    async def of_order(self, order_id: int) -> list[Operation]:
        rows = await self._conn.execute(_OPERATIONS_OF_ORDER, {"order_id": order_id})
        return self._tracked([_operation(row) for row in rows])

    async def of_orders(self, order_ids: Collection[int]) -> list[Operation]:
        return await self._select(operations.c.order_id.in_(order_ids)) if order_ids else []

    async def _select(self, *where: Any) -> list[Operation]:
        rows = await self._conn.execute(
            select(operations).where(*where).order_by(operations.c.order_id, operations.c.number)
        )
        return self._tracked([_operation(row) for row in rows])


def _transaction_values(transaction: Transaction) -> dict[str, Any]:
    return {
        "status": transaction.status.value,
        "batch_id": transaction.batch_id,
        "reference": transaction.reference or None,
        "transmitted_at": transaction.transmitted_at,
        "response": transaction.response,
        "approval_code": transaction.approval_code,
        "attempts": transaction.attempts,
        "updated_at": transaction.updated_at or transaction.created_at,
        "terminal_id": transaction.terminal_id or None,
        "points": transaction.points,
    }


def _transaction(row: Row[Any]) -> Transaction:
    return Transaction(
        id=row.id,
        order_id=row.order_id,
        operation_id=row.operation_id,
        kind=TransactionKind(row.kind),
        amount=Money(row.amount_minor, currency(row.currency)),
        created_at=row.created_at,
        status=TransactionStatus(row.status),
        transmitted_at=row.transmitted_at,
        original_id=row.original_id,
        batch_id=row.batch_id,
        reference=row.reference or "",
        response=row.response,
        approval_code=row.approval_code,
        attempts=row.attempts,
        updated_at=row.updated_at,
        terminal_id=row.terminal_id or "",
        stan_taken=row.stan,
        points=row.points,
        acquirer=row.acquirer or "",
    )


class TransactionRepository(_Tracking):
    async def add(self, transaction: Transaction) -> None:
        result = await self._conn.execute(
            insert(transactions)
            .values(
                order_id=transaction.order_id,
                operation_id=transaction.operation_id,
                kind=transaction.kind.value,
                amount_minor=transaction.amount.minor,
                currency=transaction.amount.currency.code,
                original_id=transaction.original_id,
                created_at=transaction.created_at,
                acquirer=transaction.acquirer or None,
                **_transaction_values(transaction),
            )
            .returning(transactions.c.id)
        )
        transaction.id = result.scalar_one()
        self._track(transaction)

    async def get(self, transaction_id: int) -> Transaction | None:
        parameters = {"transaction_id": transaction_id}
        row = (await self._conn.execute(_TRANSACTION, parameters)).first()
        return None if row is None else self._tracked([_transaction(row)])[0]

    async def many(self, ids: Collection[int]) -> list[Transaction]:
        return await self._select(transactions.c.id.in_(ids)) if ids else []

    async def save(self, transaction: Transaction) -> None:
        parameters = {"transaction_id": transaction.id, **_transaction_values(transaction)}
        await self._conn.execute(_SAVE_TRANSACTION, parameters)

    async def of_order(self, order_id: int) -> list[Transaction]:
        return await self._select(transactions.c.order_id == order_id)

    async def of_orders(self, order_ids: Collection[int]) -> list[Transaction]:
        return await self._select(transactions.c.order_id.in_(order_ids)) if order_ids else []

    async def all(self) -> list[Transaction]:
        return await self._select()

    async def of_batch(self, batch_id: int) -> list[Transaction]:
        return await self._select(transactions.c.batch_id == batch_id)

    async def unbatched(self, before: datetime | None = None) -> list[Transaction]:
        return await self._select(
            transactions.c.status == TransactionStatus.CREATED.value,
            transactions.c.kind.in_(
                [TransactionKind.FINANCIAL.value, TransactionKind.REFUND.value]
            ),
            *([] if before is None else [transactions.c.created_at < before]),
        )

    async def open_since_before(self, moment: datetime) -> list[Transaction]:
        rows = await self._conn.execute(
            select(transactions)
            .where(
                transactions.c.status.in_(["created", "sent", "unknown"]),
                transactions.c.kind.not_in(["financial", "refund"]),
                transactions.c.updated_at < moment,
            )
            .order_by(transactions.c.id)
        )
        return [_transaction(row) for row in rows]

    async def claim(
        self, transaction: Transaction, claimant: str, now: datetime, until: datetime
    ) -> bool:
        """Claims the transaction as it was read (its status and attempts unchanged since)
        until ``until``, unless another claimant's lease runs; renews the claimant's own."""
        claimed = await self._conn.execute(
            update(transactions)
            .where(
                transactions.c.id == transaction.id,
                transactions.c.status == transaction.status.value,
                transactions.c.attempts == transaction.attempts,
                _free_for(transactions, now, claimant),
            )
            .values(claimed_by=claimant, claimed_until=until)
        )
        return bool(claimed.rowcount)

    async def release(self, transaction_id: int, claimant: str) -> None:
        await self._conn.execute(
            update(transactions)
            .where(transactions.c.id == transaction_id, transactions.c.claimed_by == claimant)
            .values(claimed_by=None, claimed_until=None)
        )

    async def _select(self, *where: Any) -> list[Transaction]:
        rows = await self._conn.execute(
            select(transactions).where(*where).order_by(transactions.c.id)
        )
        return self._tracked([_transaction(row) for row in rows])


def _free_for(table: Any, now: datetime, claimant: str | None = None) -> Any:
    """The row is unclaimed, its lease has run out, or ``claimant`` holds it."""
    free = [table.c.claimed_until.is_(None), table.c.claimed_until <= now]
    return or_(*free, *([] if claimant is None else [table.c.claimed_by == claimant]))


def _batch_values(batch: SettlementBatch) -> dict[str, Any]:
    return {
        "status": batch.status.value,
        "debits": batch.debits,
        "debit_total": batch.debit_total,
        "credits": batch.credits,
        "credit_total": batch.credit_total,
        "attempts": batch.attempts,
        "updated_at": batch.updated_at or batch.created_at,
    }


def batch_of(row: Row[Any]) -> SettlementBatch:
    return SettlementBatch(
        id=row.id,
        currency=currency(row.currency),
        created_at=row.created_at,
        debits=row.debits,
        debit_total=row.debit_total,
        credits=row.credits,
        credit_total=row.credit_total,
        status=BatchStatus(row.status),
        attempts=row.attempts,
        updated_at=row.updated_at,
        period=row.period,
        acquirer=row.acquirer,
    )


class BatchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, batch: SettlementBatch) -> None:
        result = await self._conn.execute(
            insert(settlement_batches)
            .values(
                currency=batch.currency.code,
                period=batch.period,
                acquirer=batch.acquirer,
                created_at=batch.created_at,
                **_batch_values(batch),
            )
            .returning(settlement_batches.c.id)
        )
        batch.id = result.scalar_one()

    async def get(self, batch_id: int, *, lock: bool = False) -> SettlementBatch | None:
        query = select(settlement_batches).where(settlement_batches.c.id == batch_id)
        row = (await self._conn.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else batch_of(row)

    async def save(self, batch: SettlementBatch) -> None:
        await self._conn.execute(
            update(settlement_batches)
            .where(settlement_batches.c.id == batch.id)
            .values(**_batch_values(batch))
        )

    async def unsent(self, now: datetime) -> list[SettlementBatch]:
        """Batches still ``closing`` that no node is sending (no lease runs on them)."""
        rows = await self._conn.execute(
            select(settlement_batches)
            .where(
                settlement_batches.c.status == BatchStatus.CLOSING.value,
                _free_for(settlement_batches, now),
            )
            .order_by(settlement_batches.c.id)
        )
        return [batch_of(row) for row in rows]

    async def latest_period(self, acquirer: str) -> date | None:
        query = select(func.max(settlement_batches.c.period)).where(
            settlement_batches.c.acquirer == acquirer
        )
        period: date | None = (await self._conn.execute(query)).scalar()
        return period

    async def claim(self, batch_id: int, claimant: str, now: datetime, until: datetime) -> bool:
        """Claims a ``closing`` batch for sending until ``until``, unless another claimant's
        lease runs."""
        claimed = await self._conn.execute(
            update(settlement_batches)
            .where(
                settlement_batches.c.id == batch_id,
                settlement_batches.c.status == BatchStatus.CLOSING.value,
                _free_for(settlement_batches, now, claimant),
            )
            .values(claimed_by=claimant, claimed_until=until)
        )
        return bool(claimed.rowcount)

    async def renew(self, batch_id: int, claimant: str, until: datetime) -> bool:
        """Extends the claimant's lease; False when it no longer holds the batch."""
        renewed = await self._conn.execute(
            update(settlement_batches)
            .where(
                settlement_batches.c.id == batch_id,
                settlement_batches.c.status == BatchStatus.CLOSING.value,
                settlement_batches.c.claimed_by == claimant,
            )
            .values(claimed_until=until)
        )
        return bool(renewed.rowcount)

    async def release(self, batch_id: int, claimant: str) -> bool:
        """Ends the claimant's lease; False when it did not hold the batch."""
        released = await self._conn.execute(
            update(settlement_batches)
            .where(settlement_batches.c.id == batch_id, settlement_batches.c.claimed_by == claimant)
            .values(claimed_by=None, claimed_until=None)
        )
        return bool(released.rowcount)


class RateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, rate: Rate) -> None:
        await self._conn.execute(
            insert(exchange_rates).values(
                source=rate.source.code,
                target=rate.target.code,
                rate=str(rate.value),
                valid_from=rate.valid_from,
            )
        )

    async def current(self, source: Currency, target: Currency, at: datetime) -> Rate | None:
        row = (
            await self._conn.execute(
                select(exchange_rates)
                .where(
                    exchange_rates.c.source == source.code,
                    exchange_rates.c.target == target.code,
                    exchange_rates.c.valid_from <= at,
                )
                .order_by(exchange_rates.c.valid_from.desc(), exchange_rates.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _rate(row)

    async def history(self) -> list[Rate]:
        rows = await self._conn.execute(
            select(exchange_rates).order_by(
                exchange_rates.c.source,
                exchange_rates.c.target,
                exchange_rates.c.valid_from,
                exchange_rates.c.id,
            )
        )
        return [_rate(row) for row in rows]


def _rate(row: Row[Any]) -> Rate:
    return Rate(currency(row.source), currency(row.target), Decimal(row.rate), row.valid_from)
