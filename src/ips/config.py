"""Settings, read from ``IPS_*`` environment variables (and overridden by command-line flags)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ips.domain.acquirers import DEFAULT_ACQUIRER, Acquirer, Rules
from ips.domain.addresses import Network, parse_network
from ips.domain.errors import InvalidInput
from ips.domain.money import currency
from ips.domain.terminals import valid_terminal_id


def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks."""
    return tuple(parse_network(part) for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPS_", extra="ignore")

    database_url: str = "sqlite:///ips.sqlite3"
    """A plain URL: ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    key_file: Path = Path("ips.key")
    """The key ring that seals card numbers and secret words; created (mode 0600) if absent."""
    db_pool_size: int = Field(default=5, ge=1)
    """Database connections each process keeps open."""
    db_max_overflow: int = Field(default=10, ge=0)
    """Connections a process may open beyond the pool when busy (closed when returned); each
    process uses at most ``db_pool_size + db_max_overflow``."""

    processing: str = ""
    """``HOST:PORT`` of the processing center; empty: IPS starts the simulator itself."""
    simulator_store: Path = Path("processing-center.sqlite3")
    processing_http: str = ""
    """Base URL of the processing center's HTTP side, where ``ips reconcile`` fetches its
    settlement report (``BASE/report``); empty: the report is named on the command line."""
    threeds_url: str = ""
    """Base URL of the 3-D Secure server (directory and ACS); empty: the embedded
    simulator's when it runs, else no 3-D Secure."""
    threeds_ranges_refresh: float = Field(default=300.0, ge=0)
    """Seconds the 3-D Secure server's card ranges are trusted before they are loaded again
    (a card outside them is not enrolled, without a call); 0: no ranges, every card asked."""
    wallet_url: str = ""
    """Base URL of the e-wallet provider; empty: the embedded simulator's when it runs,
    else no wallet is offered."""
    loyalty_url: str = ""
    """Base URL of the bonus-points program; empty: the embedded simulator's when it runs,
    else no points program."""
    processing_timeout: float = 15.0
    """Seconds to wait for an answer before the authorization counts as unanswered."""
    terminal_id: str = "IPS00001"
    """The terminal id (ISO 8583 field 41) this node asks for; when another running node holds
    it, the node leases another from the pool."""
    terminal_pool: str = ""
    """The terminal ids the acquirer issued, comma-separated: nodes lease only these, and wait
    for one to be free. Empty: the pool grows as nodes need (IPS00001, IPS00002…)."""
    acquirer_id: str = "10000000001"
    processing_double_stage: bool = True
    """Whether the processing center takes double-stage payments (hold, then confirm)."""
    processing_stored_card_double_stage: bool = True
    """Whether it takes them with a stored card too (recurring payments with ``Delay=1``);
    some acquirers hold money only while the buyer is present."""
    processing_card_on_file: bool = False
    """Whether it takes a buyer's payment with a kept card without its CVC (card on file)."""
    processing_currencies: str = ""
    """Currencies the processing center takes, comma-separated; empty takes all. Orders in
    other currencies are paid in a taken one, converted at the operator's rate."""

    order_lifetime: timedelta = timedelta(hours=24)
    """An order unpaid for this long becomes ``Timeout`` (seconds, or ISO 8601 like PT24H)."""
    hold_period: timedelta = timedelta(days=7)
    """A hold unconfirmed for this long is released."""
    settlement_cutoff: time = time(23, 0)
    """Daily time (UTC) after which the open settlement batch is closed and sent."""

    notification_ports: str = "80,443,8080,8443"
    """The only ports payment notifications are posted to, comma-separated."""
    notification_interval: float = 5.0
    """Seconds between looks at the outbox of notifications."""
    notification_networks: str = ""
    """Networks besides public addresses that notifications may go to, comma-separated CIDRs
    (a shop on the operator's own network); empty: public addresses only."""

    @property
    def default_acquirer(self) -> Acquirer:
        """The acquirer of the settings (``domain/acquirers.py``)."""
        return Acquirer(
            DEFAULT_ACQUIRER,
            processing=self.processing,
            processing_http=self.processing_http,
            terminal_id=self.terminal_id,
            terminal_pool=self.terminal_pool_ids,
            acquirer_id=self.acquirer_id,
            rules=self.rules,
            settlement_cutoff=self.settlement_cutoff,
        )

    @property
    def rules(self) -> Rules:
        """The default acquirer's rules (``domain/acquirers.py``)."""
        return Rules(
            double_stage=self.processing_double_stage,
            stored_card_double_stage=self.processing_stored_card_double_stage,
            card_on_file=self.processing_card_on_file,
            currencies=tuple(
                currency(code) for code in self.processing_currencies.split(",") if code.strip()
            ),
        )

    @property
    def terminal_pool_ids(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.terminal_pool.split(",") if part.strip())

    @field_validator("terminal_id", "terminal_pool")
    @classmethod
    def _terminal_ids(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "terminal_id":
            ids = [value]
        else:
            ids = [t.strip() for t in value.split(",")] if value else []
        if not all(valid_terminal_id(t) for t in ids):
            raise ValueError("a terminal id is 1 to 8 printable ASCII characters")
        return value

    @property
    def allowed_notification_ports(self) -> frozenset[int]:
        return frozenset(int(port) for port in self.notification_ports.split(",") if port.strip())

    @field_validator("order_lifetime", "hold_period", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """A duration in seconds (``86400``, ``0.5``) as well as ISO 8601 (``PT24H``)."""
        if isinstance(value, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", value.strip()):
            return timedelta(seconds=float(value))
        return value

    @field_validator("notification_networks", "trusted_proxies", "metrics_networks")
    @classmethod
    def _networks_readable(cls, value: str) -> str:
        try:
            networks(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value

    @property
    def allowed_notification_networks(self) -> tuple[Network, ...]:
        return networks(self.notification_networks)

    reversal_attempts: int = 1
    """Reversals sent while the caller waits; the janitor repeats them after that."""
    janitor_interval: float = 10.0

    @property
    def shutdown_grace(self) -> float:
        """Seconds a stopping server lets requests under way finish: the longest a card
        payment may take: 3-D Secure enrolment, authorization and the reversals the buyer
        waits for, each up to 5 s to connect and ``processing_timeout`` for its answer."""
        return (self.reversal_attempts + 2) * (self.processing_timeout + 5)

    trusted_proxies: str = ""
    """The operator's proxies, comma-separated addresses or CIDRs: only from them is a
    caller's address taken from ``X-Forwarded-For``. Empty: callers are who connects."""
    credential_cache_seconds: float = 300.0
    """How long a verified web-service credential is believed without argon2; 0: never."""

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return networks(self.trusted_proxies)

    metrics_networks: str = "127.0.0.0/8,::1"
    """Callers that may scrape ``/metrics`` without a token, comma-separated addresses or
    CIDRs; empty: none (``web/metrics.py``)."""
    metrics_token: str = ""
    """A bearer token with which any caller may scrape ``/metrics``; empty: none."""

    @property
    def metrics_network_list(self) -> tuple[Network, ...]:
        return networks(self.metrics_networks)

    log_format: Literal["json", "text"] = "json"
    """``json``: one JSON object a line, for a log collector; ``text``: lines for a person
    (``logs/formats.py``)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least a record must be to be logged; ``DEBUG`` adds IPS's own detail (the messages
    to the processing center, masked)."""
    log_dir: Path | None = None
    """A directory where each process also writes its lines, to a file of its own
    (``ips-serve-PID.log``); unset: standard error only."""

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("log_dir", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
