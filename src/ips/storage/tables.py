"""The tables, and the constraints that hold the money invariants whatever the code does.

- ``orders.billnumber`` is unique.
- ``uq_orders_paid_ordernumber``: at most one order per (merchant, ordernumber) holds its
  ordernumber (a payment under way or succeeded), and a paid order always holds it
  (``ck_orders_paid_holds_ordernumber``) — so at most one paid order per ordernumber.
- ``uq_operations_live_payment``: at most one payment operation per order that is under way
  or succeeded — so at most one successful payment per order; besides it, at most one in
  bonus points (``uq_operations_live_points``), the seed's one exception.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from ips.domain.api_keys import Scope
from ips.domain.audit import ActorKind
from ips.domain.notifications import NotificationStatus, Outcome
from ips.domain.settlement import BatchStatus
from ips.domain.states import PAID_STATES, OperationStatus, OrderState, TransactionStatus
from ips.domain.users import Role
from ips.domain.webhooks import DeliveryStatus

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


_PAID = _one_of("state", sorted(PAID_STATES, key=lambda s: s.value))

BOOKS = (
    "held",
    "confirmed",
    "released",
    "hold_cancelled",
    "reversed",
    "presented",
    "refunded",
    "in_points",
    "points_returned",
)
"""The order's books (``domain/books.py``), one column each, in minor units."""

acquirers = Table(
    "acquirers",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("processing", String(255), nullable=False),
    Column("processing_http", Text, nullable=False, server_default=""),
    Column("terminal_id", String(8), nullable=False),
    Column("terminal_pool", Text, nullable=False, server_default=""),
    Column("acquirer_id", String(11), nullable=False),
    Column("currencies", String(200), nullable=False, server_default=""),
    Column("double_stage", Boolean, nullable=False),
    Column("stored_card_double_stage", Boolean, nullable=False),
    Column("card_on_file", Boolean, nullable=False),
    Column("require_3ds", Boolean, nullable=False),
    Column("settlement_cutoff", String(8), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
)
"""The acquirers the operator added (``domain/acquirers.py``); the default one is the
settings'."""

merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", String(12), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("login", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("sealed_secret_word", Text, nullable=False),
    Column("default_currency", String(3), nullable=False),
    Column("double_stage", Boolean, nullable=False),
    Column("callback_url", Text, nullable=False),
    Column("require_checkvalue", Boolean, nullable=False),
    Column("checkvalue_legacy_concat", Boolean, nullable=False, server_default=text("false")),
    Column("return_hosts", Text, nullable=False, server_default=""),
    Column("means", String(40), nullable=False, server_default="card wallet"),
    Column("required_fields", String(40), nullable=False, server_default=""),
    Column("require_3ds", Boolean, nullable=False, server_default=text("false")),
    Column("allow_disable_3ds", Boolean, nullable=False, server_default=text("false")),
    Column("notify_kinds", String(20), nullable=False, server_default="100"),
    Column("notify_answer", String(20), nullable=False, server_default="pushpaymentresult"),
    Column("sealed_previous_secret_word", Text),
    Column("previous_secret_until", UtcDateTime),
    Column("ws_addresses", Text, nullable=False, server_default=""),
    Column("ws_credential_mac", String(64)),
    Column("ws_credential_until", UtcDateTime),
    Column("payment_attempts", Integer, nullable=False, server_default="3"),
    Column("points_share", Integer, nullable=False, server_default="50"),
    Column("points_accrual", Integer, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("routes", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("payment_attempts BETWEEN 1 AND 10", name="payment_attempts"),
    CheckConstraint("points_share BETWEEN 1 AND 100", name="points_share"),
    CheckConstraint("points_accrual BETWEEN 0 AND 100", name="points_accrual"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("billnumber", String(20), nullable=False, unique=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("ordernumber", String(128), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(20), nullable=False),
    Column("delay", Boolean, nullable=False),
    Column("language", String(2), nullable=False),
    Column("comment", Text, nullable=False),
    Column("buyer", JSON, nullable=False),
    Column("url_return", Text, nullable=False),
    Column("url_return_ok", Text, nullable=False),
    Column("url_return_no", Text, nullable=False),
    Column("holds_ordernumber", Boolean, nullable=False),
    Column("means", String(40), nullable=False, server_default="card"),
    Column("disable_3ds", Boolean, nullable=False, server_default=text("false")),
    Column("recurring", JSON),
    Column("recurring_of", ForeignKey("orders.id")),
    Column("customer_number", String(64)),
    Column("max_points", BigInteger),
    Column("books_currency", String(3)),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in BOOKS),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("payment_means", String(20)),
    Column("masked_pan", String(19)),
    Column("card_last4", String(4)),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(_one_of("state", OrderState), name="state"),
    CheckConstraint(f"NOT ({_PAID}) OR holds_ordernumber", name="paid_holds_ordernumber"),
    CheckConstraint(f"NOT ({_PAID}) OR books_currency IS NOT NULL", name="paid_has_books"),
    CheckConstraint(
        " AND ".join(f"{name} >= 0" for name in BOOKS)
        + " AND confirmed + released + hold_cancelled <= held"
        + " AND reversed + presented <= confirmed"
        + " AND refunded <= presented"
        + " AND points_returned <= in_points AND in_points <= presented"
        + " AND points_returned <= refunded",
        name="books_balance",
    ),
    Index(
        "uq_orders_paid_ordernumber",
        "merchant_id",
        "ordernumber",
        unique=True,
        sqlite_where=text("holds_ordernumber"),
        postgresql_where=text("holds_ordernumber"),
    ),
    Index("ix_orders_merchant_ordernumber", "merchant_id", "ordernumber", "created_at"),
    Index("ix_orders_merchant_created_id", "merchant_id", "created_at", "id"),
    Index("ix_orders_merchant_state", "merchant_id", "state", "created_at", "id"),
    Index("ix_orders_merchant_means", "merchant_id", "payment_means", "created_at", "id"),
    Index("ix_orders_merchant_card", "merchant_id", "card_last4", "created_at", "id"),
    Index("ix_orders_merchant_amount", "merchant_id", "currency", "amount_minor"),
    Index("ix_orders_recurring_of", "recurring_of"),
)
"""``payment_means``, ``masked_pan`` and ``card_last4`` repeat those of the order's latest
payment operation (written with it, ``OperationRepository.add``), so that the Order Monitor
filters on them without a join; the ``ix_orders_merchant_*`` indexes serve its queries, and
on PostgreSQL so do the statistics ``st_orders_created_day`` (migration 0008; see
``docs/architecture.md``, *The Order Monitor's queries*)."""

_LIVE = "kind = '100' AND status IN ('in_process', 'success')"
_LIVE_PAYMENT = text(f"{_LIVE} AND means <> 'points'")
_LIVE_POINTS = text(f"{_LIVE} AND means = 'points'")

operations = Table(
    "operations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(3), nullable=False),
    Column("status", String(12), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("means", String(20), nullable=False),
    Column("masked_pan", String(19)),
    Column("card_brand", String(30)),
    Column("card_expiry", String(7)),
    Column("cardholder", String(26)),
    Column("sealed_pan", Text),
    Column("client_ip", String(45), nullable=False),
    Column("keep_card", Boolean, nullable=False, server_default=text("false")),
    Column("points", BigInteger),
    Column("points_account", String(32)),
    Column("begun_at", UtcDateTime),
    Column("acquirer", String(32)),
    Column("rate", String(32)),
    Column("cancel_reason", String(1)),
    Column("external_refund_id", String(100)),
    Column("response_code", String(5)),
    Column("approval_code", String(6), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    UniqueConstraint("order_id", "number"),
    UniqueConstraint("order_id", "external_refund_id"),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(_one_of("status", OperationStatus), name="status"),
    Index(
        "uq_operations_live_payment",
        "order_id",
        unique=True,
        sqlite_where=_LIVE_PAYMENT,
        postgresql_where=_LIVE_PAYMENT,
    ),
    Index(
        "uq_operations_live_points",
        "order_id",
        unique=True,
        sqlite_where=_LIVE_POINTS,
        postgresql_where=_LIVE_POINTS,
    ),
)

_OPEN_TRANSACTION = text(
    "status IN ('created', 'sent', 'unknown') AND kind NOT IN ('financial', 'refund')"
)
_UNBATCHED = text("status = 'created' AND kind IN ('financial', 'refund')")
_POINTS_REPORTED = text(
    "kind IN ('points_spend', 'points_give_back', 'points_accrual', 'accrual_reversal')"
)
"""The exchanges a day's points report names (``services/points_report.py``)."""

settlement_batches = Table(
    "settlement_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("debits", Integer, nullable=False),
    Column("debit_total", BigInteger, nullable=False),
    Column("credits", Integer, nullable=False),
    Column("credit_total", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("period", Date),
    Column("claimed_by", String(64)),
    Column("claimed_until", UtcDateTime),
    Column("acquirer", String(32), nullable=False, server_default="default"),
    CheckConstraint(_one_of("status", BatchStatus), name="status"),
    CheckConstraint("debit_total >= 0 AND credit_total >= 0", name="totals"),
    UniqueConstraint("period", "acquirer", "currency"),
)
"""One batch per settlement period (the day of its cut-off), acquirer and currency: whichever
node inserts it closes the acquirer's period. ``claimed_by``/``claimed_until``: the lease of
the node sending it (``services/settlement.py``)."""

transactions = Table(
    "transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("operation_id", ForeignKey("operations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("original_id", ForeignKey("transactions.id")),
    Column("batch_id", ForeignKey("settlement_batches.id")),
    Column("reference", String(64)),
    Column("transmitted_at", UtcDateTime),
    Column("response", String(4), nullable=False),
    Column("approval_code", String(6), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", UtcDateTime),
    Column("terminal_id", String(8)),
    Column("stan", Integer),
    Column("stan_day", Date),
    Column("points", BigInteger),
    Column("acquirer", String(32)),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(_one_of("status", TransactionStatus), name="status"),
    UniqueConstraint("terminal_id", "stan_day", "stan"),
    Index("ix_transactions_operation_id", "operation_id"),
    Index("ix_transactions_order_id", "order_id"),
    Index("ix_transactions_batch_id", "batch_id"),
    Index(
        "ix_transactions_unbatched",
        "order_id",
        sqlite_where=_UNBATCHED,
        postgresql_where=_UNBATCHED,
    ),
    Index(
        "ix_transactions_open",
        "updated_at",
        sqlite_where=_OPEN_TRANSACTION,
        postgresql_where=_OPEN_TRANSACTION,
    ),
    Index(
        "ix_transactions_points_reported",
        "updated_at",
        sqlite_where=_POINTS_REPORTED,
        postgresql_where=_POINTS_REPORTED,
    ),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("operation_id", ForeignKey("operations.id"), nullable=False, unique=True),
    Column("fields", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("status", NotificationStatus), name="status"),
    Index(
        "ix_notifications_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_notifications_order_id", "order_id"),
)
"""The outbox: each row written with the operation whose result it carries."""

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notification_id", ForeignKey("notifications.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("http_status", Integer),
    Column("answer", Text, nullable=False),
    Column("error", Text, nullable=False),
    CheckConstraint(_one_of("outcome", Outcome), name="outcome"),
    Index("ix_notification_attempts_notification_id", "notification_id"),
)

login_guards = Table(
    "login_guards",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("succeeded_at", UtcDateTime),
)
"""Failed logins by subject: a login from one source (``ws:<merchant id> from <address>``),
and a login from all sources (``ws:<merchant id>``); ``cabinet:<login>…`` likewise."""

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("login", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("role", Role), name="role"),
    Index("ix_users_merchant_id", "merchant_id"),
)
"""Users of the Personal Account; a login is unique across merchants (it signs in alone)."""

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)
"""Signed-in sessions of the Personal Account, by the SHA-256 of the browser's token."""

operators = Table(
    "operators",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("login", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(10), nullable=False),
    Column("sealed_totp_secret", Text),
    Column("last_totp_step", BigInteger),
    Column("disabled_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("role", Role), name="role"),
    CheckConstraint("role <> 'admin' OR sealed_totp_secret IS NOT NULL", name="admin_totp"),
)
"""The operator console's staff (``domain/operators.py``); an administrator's TOTP secret
sealed with the key ring, and the time step of its last code used."""

operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("operator_id", ForeignKey("operators.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("second_factor_at", UtcDateTime),
    Index("ix_operator_sessions_operator_id", "operator_id"),
)
"""Signed-in sessions of the operator console, by the SHA-256 of the browser's token."""

sealing_keys = Table(
    "sealing_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("fingerprint", String(16), nullable=False),
)
"""The keys this database's sealed values need, by fingerprint (``storage/keys.py``)."""

exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(3), nullable=False),
    Column("target", String(3), nullable=False),
    Column("rate", String(32), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Index("ix_exchange_rates_pair", "source", "target", "valid_from"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("entity", String(20), nullable=False),
    Column("entity_id", BigInteger),
    Column("old", String(20), nullable=False),
    Column("new", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_events_order_id", "order_id"),
)

terminals = Table(
    "terminals",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("owner", String(100)),
    Column("leased_until", UtcDateTime),
)
"""The terminal ids nodes sign on as, each leased by one running node at a time (``owner``)
until ``leased_until``; a lease not renewed in time is free for another node."""

terminal_stans = Table(
    "terminal_stans",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last", Integer, nullable=False),
)
"""The last STAN each terminal took on each day (UTC)."""

kept_cvcs = Table(
    "kept_cvcs",
    metadata,
    Column("operation_id", ForeignKey("operations.id"), primary_key=True),
    Column("sealed", Text, nullable=False),
    Column("until", UtcDateTime, nullable=False),
    Index("ix_kept_cvcs_until", "until"),
)
"""The CVC of a payment whose buyer is at the issuer's 3-D Secure page, sealed with the key
ring, until the check ends (at most 15 minutes): taken — read and deleted at once — then."""

_KEPT_FOR = (
    "(customer_number IS NOT NULL AND pan_mac IS NOT NULL AND recurring_order_id IS NULL)"
    " OR (customer_number IS NULL AND pan_mac IS NULL AND recurring_order_id IS NOT NULL)"
)

kept_cards = Table(
    "kept_cards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("customer_number", String(64)),
    Column("pan_mac", String(64)),
    Column("sealed_pan", Text, nullable=False),
    Column("masked_pan", String(19), nullable=False),
    Column("card_brand", String(30), nullable=False),
    Column("card_expiry", String(7), nullable=False),
    Column("cardholder", String(26), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("recurring_order_id", ForeignKey("orders.id"), unique=True),
    UniqueConstraint("merchant_id", "customer_number", "pan_mac"),
    CheckConstraint(_KEPT_FOR, name="kept_for"),
    Index("ix_kept_cards_valid_until", "valid_until"),
)
"""Cards kept (``domain/kept_cards.py``): the number sealed, what may be shown; never the CVC.
Each is kept either for a shop's customer (``customer_number``, with a keyed hash of the number
so that a card is kept once per customer) or for the recurring payments of a first order
(``recurring_order_id``, one card per order; valid until the card's expiry or the terms' last
day) — ``ck_kept_cards_kept_for``. Only the first are offered on the card page."""

_POINTS_DIFFERENCE = (
    "(ips_points IS NOT NULL OR program_points IS NOT NULL)"
    " AND (ips_points IS NULL OR program_points IS NULL OR ips_points <> program_points)"
)

points_differences = Table(
    "points_differences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ips_points", BigInteger),
    Column("program_points", BigInteger),
    Column("reported_at", UtcDateTime, nullable=False),
    UniqueConstraint("day", "merchant_id", "kind", "reference"),
    CheckConstraint("kind IN ('spend', 'give_back', 'accrual', 'accrual_reversal')", name="kind"),
    CheckConstraint(_POINTS_DIFFERENCE, name="differs"),
)
"""Where the points program's books of a day differ from IPS's report of it, by merchant, as
the program answered the latest report (``services/points_report.py``): an operation missing
on one side (its points ``NULL`` there) or with other points. ``kind`` is a
``PointsOperation``; a report made again replaces its day's and merchant's rows."""

reconciliation_differences = Table(
    "reconciliation_differences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("acquirer", String(32), nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("rrn", String(12), nullable=False),
    Column("what", String(40), nullable=False),
    Column("ips", Text, nullable=False),
    Column("bank", Text, nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Index(
        "uq_reconciliation_differences_open",
        "acquirer",
        "terminal_id",
        "rrn",
        "what",
        unique=True,
        sqlite_where=text("resolved_at IS NULL"),
        postgresql_where=text("resolved_at IS NULL"),
    ),
)
"""Where an acquirer's settlement report differed from IPS's books (``ips reconcile``): open
while the latest reconciliation still finds it, ``resolved_at`` once one does not."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    CheckConstraint(_one_of("scope", Scope), name="scope"),
    Index("ix_api_keys_merchant_id", "merchant_id"),
)
"""The JSON API's keys (``domain/api_keys.py``): the SHA-256 of each, never the key."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("merchant_id", ForeignKey("merchants.merchant_id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),
    Column("body", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
"""The JSON API's ``Idempotency-Key``s per merchant (``services/idempotency.py``): the
request's fingerprint, and once it is answered the answer (``status``, ``body``); while
``status`` is NULL the request is in flight."""

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", String(24), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("sealed_secret", Text, nullable=False),
    Column("sealed_previous_secret", Text),
    Column("previous_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    Index("ix_webhook_endpoints_merchant_id", "merchant_id"),
)
"""A merchant's webhook endpoints (``domain/webhooks.py``); secrets sealed with the key ring."""

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(24), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_webhook_events_order_id", "order_id"),
)
"""Each written in the commit of the change it tells of, with its deliveries."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", ForeignKey("webhook_events.event_id"), nullable=False),
    Column("endpoint_id", ForeignKey("webhook_endpoints.endpoint_id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("give_up_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(80)),
    Column("claimed_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("status", DeliveryStatus), name="status"),
    UniqueConstraint("event_id", "endpoint_id"),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_webhook_deliveries_merchant_id_id", "merchant_id", "id"),
)
"""The outbox of webhooks: one row per event and endpoint, claimed while it is sent."""

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("http_status", Integer),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)

audit_records = Table(
    "audit_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_kind", String(12), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("actor_merchant_id", String(12)),
    Column("source", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_kind", String(30), nullable=False),
    Column("subject_key", String(100), nullable=False),
    Column("merchant_id", String(12)),
    Column("billnumber", String(20)),
    Column("before", JSON),
    Column("after", JSON),
    CheckConstraint(_one_of("actor_kind", ActorKind), name="actor_kind"),
    Index("ix_audit_records_merchant_id_id", "merchant_id", "id"),
    Index("ix_audit_records_billnumber", "billnumber"),
    Index("ix_audit_records_actor_id", "actor", "id"),
)
"""The audit trail (``domain/audit.py``): added in the transaction of the change it tells
of, and never changed or deleted — triggers refuse an UPDATE or a DELETE. No foreign keys:
an entry outlives what it tells of."""
