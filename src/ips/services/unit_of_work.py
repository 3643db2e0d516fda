"""What the services need of storage: repositories inside one database transaction.

A unit of work is one short database transaction: ``async with uow_factory() as uow: …;
await uow.commit()``. Leaving the block without ``commit`` rolls back. Services never hold a
unit of work open across a call to the processing center.

``get(..., lock=True)`` takes a row lock on the order (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway), so every change of an order's money is made by
one writer at a time. Lock the order first, then its operations and transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from ips.domain.merchants import Merchant
from ips.domain.orders import Operation, Order, Transaction


class MerchantRepository(Protocol):
    async def get(self, merchant_id: str) -> Merchant | None: ...
    async def add(self, merchant: Merchant) -> None: ...
    async def all(self) -> list[Merchant]: ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...
    async def get(self, billnumber: str, *, lock: bool = False) -> Order | None: ...
    async def get_by_id(self, order_id: int, *, lock: bool = False) -> Order | None: ...
    async def of_transaction(self, transaction_id: int, *, lock: bool = False) -> Order | None:
        """The order a transaction belongs to (locked before the transaction is read)."""
        ...

    async def save(self, order: Order) -> None: ...
    async def of_ordernumber(
        self, merchant_id: str, ordernumber: str, since: datetime, until: datetime
    ) -> list[Order]:
        """The merchant's orders with that number created in [since, until], oldest first."""
        ...

    async def ordernumber_taken(self, merchant_id: str, ordernumber: str) -> bool:
        """Whether an order with that number is paid, or being paid, for the merchant."""
        ...


class OperationRepository(Protocol):
    async def add(self, operation: Operation) -> None: ...
    async def get(self, operation_id: int) -> Operation | None: ...
    async def save(self, operation: Operation) -> None: ...
    async def of_order(self, order_id: int) -> list[Operation]: ...


class TransactionRepository(Protocol):
    async def add(self, transaction: Transaction) -> None: ...
    async def get(self, transaction_id: int) -> Transaction | None: ...
    async def save(self, transaction: Transaction) -> None: ...
    async def open_since_before(self, moment: datetime) -> list[Transaction]:
        """Transactions still waiting for an answer, last touched before ``moment``."""
        ...


class UnitOfWork(Protocol):
    @property
    def merchants(self) -> MerchantRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def operations(self) -> OperationRepository: ...
    @property
    def transactions(self) -> TransactionRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[..., UnitOfWork]
"""``factory()`` for a writing unit of work; ``factory(readonly=True)`` for reads only."""
