"""Repositories: the domain's entities in and out of the tables, one explicit query at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.crypto.keyring import KeyRing
from ips.domain.cards import Brand, Secret
from ips.domain.merchants import Merchant
from ips.domain.money import Money, currency
from ips.domain.orders import (
    Buyer,
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
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.storage.tables import merchants, operations, orders, transactions

Track = Callable[[Any], None]

_SEAL_CONTEXT = "merchant secret word"


class MerchantRepository:
    def __init__(self, conn: AsyncConnection, keyring: KeyRing) -> None:
        self._conn = conn
        self._keyring = keyring

    async def get(self, merchant_id: str) -> Merchant | None:
        row = (
            await self._conn.execute(
                select(merchants).where(merchants.c.merchant_id == merchant_id)
            )
        ).first()
        return None if row is None else self._merchant(row)

    async def add(self, merchant: Merchant) -> None:
        await self._conn.execute(
            insert(merchants).values(
                merchant_id=merchant.merchant_id,
                name=merchant.name,
                login=merchant.login,
                password_hash=merchant.password_hash,
                sealed_secret_word=self._keyring.seal(merchant.secret_word.reveal(), _SEAL_CONTEXT),
                default_currency=merchant.default_currency.code,
                double_stage=merchant.double_stage,
                callback_url=merchant.callback_url,
                require_checkvalue=merchant.require_checkvalue,
                created_at=merchant.created_at,
            )
        )

    async def all(self) -> list[Merchant]:
        rows = await self._conn.execute(select(merchants).order_by(merchants.c.merchant_id))
        return [self._merchant(row) for row in rows]

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
            created_at=row.created_at,
        )


def _order_values(order: Order) -> dict[str, Any]:
    return {
        "state": order.state.value,
        "holds_ordernumber": order.holds_ordernumber,
        "updated_at": order.updated_at or order.created_at,
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
        language=Language(row.language),
        comment=row.comment,
        buyer=Buyer(**row.buyer),
        return_urls=ReturnUrls(ok=row.url_return_ok, no=row.url_return_no, default=row.url_return),
        state=OrderState(row.state),
        holds_ordernumber=row.holds_ordernumber,
        updated_at=row.updated_at,
    )


class OrderRepository:
    def __init__(self, conn: AsyncConnection, track: Track) -> None:
        self._conn = conn
        self._track = track

    async def add(self, order: Order) -> None:
        result = await self._conn.execute(
            insert(orders)
            .values(
                billnumber=order.billnumber,
                merchant_id=order.merchant_id,
                ordernumber=order.ordernumber,
                amount_minor=order.amount.minor,
                currency=order.amount.currency.code,
                delay=order.delay,
                language=order.language.value,
                comment=order.comment,
                buyer=dataclasses.asdict(order.buyer),
                url_return=order.return_urls.default,
                url_return_ok=order.return_urls.ok,
                url_return_no=order.return_urls.no,
                created_at=order.created_at,
                **_order_values(order),
            )
            .returning(orders.c.id)
        )
        order.id = result.scalar_one()
        self._track(order)

    async def get(self, billnumber: str, *, lock: bool = False) -> Order | None:
        return await self._one(orders.c.billnumber == billnumber, lock)

    async def get_by_id(self, order_id: int, *, lock: bool = False) -> Order | None:
        return await self._one(orders.c.id == order_id, lock)

    async def of_transaction(self, transaction_id: int, *, lock: bool = False) -> Order | None:
        owner = select(transactions.c.order_id).where(transactions.c.id == transaction_id)
        return await self._one(orders.c.id == owner.scalar_subquery(), lock)

    async def _one(self, where: Any, lock: bool) -> Order | None:
        query = select(orders).where(where)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        order = _order(row)
        self._track(order)
        return order

    async def save(self, order: Order) -> None:
        await self._conn.execute(
            update(orders).where(orders.c.id == order.id).values(**_order_values(order))
        )

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
        query = select(
            exists().where(
                orders.c.merchant_id == merchant_id,
                orders.c.ordernumber == ordernumber,
                orders.c.holds_ordernumber,
            )
        )
        return bool((await self._conn.execute(query)).scalar())


def _operation_values(operation: Operation) -> dict[str, Any]:
    return {
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
        status=OperationStatus(row.status),
        response_code=ResponseCode(row.response_code) if row.response_code else None,
        approval_code=row.approval_code,
        finished_at=row.finished_at,
    )


class OperationRepository:
    def __init__(self, conn: AsyncConnection, track: Track) -> None:
        self._conn = conn
        self._track = track

    async def add(self, operation: Operation) -> None:
        card = operation.card
        result = await self._conn.execute(
            insert(operations)
            .values(
                order_id=operation.order_id,
                number=operation.number,
                kind=operation.kind.value,
                amount_minor=operation.amount.minor,
                currency=operation.amount.currency.code,
                means=operation.means.value,
                masked_pan=card.masked_pan if card else None,
                card_brand=card.brand.value if card else None,
                card_expiry=card.expiry if card else None,
                cardholder=card.holder if card else None,
                sealed_pan=operation.sealed_pan,
                client_ip=operation.client_ip,
                created_at=operation.created_at,
                **_operation_values(operation),
            )
            .returning(operations.c.id)
        )
        operation.id = result.scalar_one()
        self._track(operation)

    async def get(self, operation_id: int) -> Operation | None:
        row = (
            await self._conn.execute(select(operations).where(operations.c.id == operation_id))
        ).first()
        if row is None:
            return None
        operation = _operation(row)
        self._track(operation)
        return operation

    async def save(self, operation: Operation) -> None:
        await self._conn.execute(
            update(operations)
            .where(operations.c.id == operation.id)
            .values(**_operation_values(operation))
        )

    async def of_order(self, order_id: int) -> list[Operation]:
        rows = await self._conn.execute(
            select(operations)
            .where(operations.c.order_id == order_id)
            .order_by(operations.c.number)
        )
        found = [_operation(row) for row in rows]
        for operation in found:
            self._track(operation)
        return found


def _transaction_values(transaction: Transaction) -> dict[str, Any]:
    return {
        "status": transaction.status.value,
        "transmitted_at": transaction.transmitted_at,
        "response": transaction.response,
        "approval_code": transaction.approval_code,
        "attempts": transaction.attempts,
        "updated_at": transaction.updated_at or transaction.created_at,
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
        response=row.response,
        approval_code=row.approval_code,
        attempts=row.attempts,
        updated_at=row.updated_at,
    )


class TransactionRepository:
    def __init__(self, conn: AsyncConnection, track: Track) -> None:
        self._conn = conn
        self._track = track

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
                **_transaction_values(transaction),
            )
            .returning(transactions.c.id)
        )
        transaction.id = result.scalar_one()
        self._track(transaction)

    async def get(self, transaction_id: int) -> Transaction | None:
        row = (
            await self._conn.execute(
                select(transactions).where(transactions.c.id == transaction_id)
            )
        ).first()
        if row is None:
            return None
        transaction = _transaction(row)
        self._track(transaction)
        return transaction

    async def save(self, transaction: Transaction) -> None:
        await self._conn.execute(
            update(transactions)
            .where(transactions.c.id == transaction.id)
            .values(**_transaction_values(transaction))
        )

    async def open_since_before(self, moment: datetime) -> list[Transaction]:
        rows = await self._conn.execute(
            select(transactions)
            .where(
                transactions.c.status.in_(["created", "sent", "unknown"]),
                transactions.c.updated_at < moment,
            )
            .order_by(transactions.c.id)
        )
        return [_transaction(row) for row in rows]
