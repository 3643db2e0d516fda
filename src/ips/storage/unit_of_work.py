"""The SQL unit of work: one connection, one database transaction, the repositories on it.

A read-only unit of work on PostgreSQL runs its statements outside a transaction: at READ
COMMITTED each statement sees its own snapshot anyway, and it saves every read a BEGIN and a
ROLLBACK (two round trips).

On commit it also writes the state changes the entities recorded (``events``), the webhook
events they make (``storage/webhooks.py``), and the terminals and STANs of the transactions
it transmitted (``terminals.allot_stans``), in the same transaction as the changes themselves.
A constraint violation surfaces as ``Conflict``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any, Self

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ips.crypto.keyring import KeyRing
from ips.domain.errors import Conflict
from ips.domain.orders import Operation, Order, Transaction
from ips.domain.states import StateChanged
from ips.storage.acquirers import AcquirerRepository
from ips.storage.api_keys import ApiKeyRepository
from ips.storage.audit import AuditRepository
from ips.storage.console import ConsoleQueries
from ips.storage.cvcs import CvcRepository
from ips.storage.gauges import GaugeQueries
from ips.storage.idempotency import IdempotencyRepository
from ips.storage.kept_cards import KeptCardRepository
from ips.storage.logins import LoginRepository
from ips.storage.monitor import MonitorQueries
from ips.storage.notifications import NotificationRepository
from ips.storage.operators import OperatorRepository, OperatorSessionRepository
from ips.storage.points import PointsQueries
from ips.storage.reconciliation import DifferenceRepository
from ips.storage.repositories import (
    BatchRepository,
    MerchantRepository,
    OperationRepository,
    OrderRepository,
    RateRepository,
    TransactionRepository,
)
from ips.storage.tables import events
from ips.storage.terminals import TerminalRepository, allot_stans
from ips.storage.users import SessionRepository, UserRepository
from ips.storage.webhooks import WebhookRepository
from ips.storage.webhooks import write_events as write_webhook_events

log = logging.getLogger(__name__)

Committed = Callable[[Collection[Order | Operation | Transaction]], None]
"""Told of the entities a commit wrote, their events still on them, once it is done (the
metrics count the payments that ended: ``metrics.Metrics.committed``)."""


class SqlUnitOfWork:
    acquirers: AcquirerRepository
    api_keys: ApiKeyRepository
    audit: AuditRepository
    idempotency: IdempotencyRepository
    merchants: MerchantRepository
    orders: OrderRepository
    operations: OperationRepository
    transactions: TransactionRepository
    batches: BatchRepository
    rates: RateRepository
    notifications: NotificationRepository
    logins: LoginRepository
    monitor: MonitorQueries
    console: ConsoleQueries
    cvcs: CvcRepository
    terminals: TerminalRepository
    differences: DifferenceRepository
    kept_cards: KeptCardRepository
    points: PointsQueries
    webhooks: WebhookRepository
    operators: OperatorRepository
    operator_sessions: OperatorSessionRepository
    gauges: GaugeQueries

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: KeyRing,
        *,
        readonly: bool = False,
        committed: Committed | None = None,
    ) -> None:
        self._engine = engine
        self._keyring = keyring
        self._readonly = readonly
        self._committed = committed
        self._seen: dict[int, Order | Operation | Transaction] = {}
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        if self._readonly:
            options: dict[str, Any] = {"ips_readonly": True}
            if conn.dialect.name == "postgresql":
                options["isolation_level"] = "AUTOCOMMIT"  # no BEGIN, no ROLLBACK
            conn = await conn.execution_options(**options)
        self._conn = conn
        await conn.begin()
        self.acquirers = AcquirerRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.audit = AuditRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.merchants = MerchantRepository(conn, self._keyring)
        self.orders = OrderRepository(conn, self._track)
        self.operations = OperationRepository(conn, self._track)
        self.transactions = TransactionRepository(conn, self._track)
        self.batches = BatchRepository(conn)
        self.rates = RateRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.logins = LoginRepository(conn)
        self.users = UserRepository(conn)
        self.sessions = SessionRepository(conn)
        self.monitor = MonitorQueries(conn)
        self.console = ConsoleQueries(conn)
        self.cvcs = CvcRepository(conn)
        self.terminals = TerminalRepository(conn)
        self.differences = DifferenceRepository(conn)
        self.kept_cards = KeptCardRepository(conn)
        self.points = PointsQueries(conn)
        self.webhooks = WebhookRepository(conn, self._keyring)
        self.operators = OperatorRepository(conn, self._keyring)
        self.operator_sessions = OperatorSessionRepository(conn)
        self.gauges = GaugeQueries(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()
        if isinstance(exc, IntegrityError):
            raise Conflict("the change conflicts with another one made at the same time") from exc

    async def commit(self) -> None:
        assert self._conn is not None
        seen = self._seen.values()
        rows = [self._event_row(entity, event) for entity in seen for event in entity.events]
        try:
            if rows:
                await self._conn.execute(insert(events), rows)
                await write_webhook_events(self._conn, seen)
            await allot_stans(self._conn, (e for e in seen if isinstance(e, Transaction)))
            await self._conn.commit()
        except IntegrityError as exc:
            raise Conflict("the change conflicts with another one made at the same time") from exc
        if self._committed is not None:
            try:
                self._committed(seen)
            except Exception:  # the change is made: what tells of it must not undo the answer
                log.exception("a commit's observer failed")
        for entity in seen:
            entity.events.clear()

    def _track(self, entity: Order | Operation | Transaction) -> None:
        self._seen.setdefault(id(entity), entity)

    @staticmethod
    def _event_row(entity: Order | Operation | Transaction, event: StateChanged) -> dict[str, Any]:
        order_id = entity.id if isinstance(entity, Order) else entity.order_id
        return {
            "order_id": order_id,
            "entity": event.entity,
            "entity_id": entity.id,
            "old": event.old,
            "new": event.new,
            "at": event.at,
        }


class Database:
    """Makes units of work; the one object the rest of IPS holds to reach storage."""

    def __init__(
        self, engine: AsyncEngine, keyring: KeyRing, committed: Committed | None = None
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.committed = committed

    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.keyring, readonly=readonly, committed=self.committed)

    async def dispose(self) -> None:
        await self.engine.dispose()
