"""The one place that chooses implementations and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

from ips.callbacks import HttpCallbackSender
from ips.config import Settings
from ips.crypto.tokens import FormTokens
from ips.domain.acquirers import Acquirer, processing_address
from ips.metrics import Metrics
from ips.processing.embedded_bank import EmbeddedSimulator
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.processing.loyalty_http import HttpLoyalty
from ips.processing.secure import NoThreeDSecure
from ips.processing.secure_http import HttpThreeDSecure
from ips.processing.wallet_http import HttpWallet
from ips.services.acquirers import REFRESH as ACQUIRERS_REFRESH
from ips.services.acquirers import list_acquirers
from ips.services.credentials import CredentialCache
from ips.services.gateway import Gateway, Link, Links, Timings
from ips.services.health import Health, Heartbeat
from ips.services.notifications import Delivery
from ips.services.terminals import Pool, Terminal
from ips.storage.database import create_engine
from ips.storage.keys import bind_keyring
from ips.storage.migrate import migrate, migration_lock, schema_state
from ips.storage.unit_of_work import Database
from ips.web.services import Services
from ips.workers import janitor_loop, notification_loop, settlement_loop, webhook_loop

log = logging.getLogger(__name__)


async def open_database(settings: Settings, metrics: Metrics | None = None) -> Database:
    """The database, migrated to the current schema (by one starting process at a time);
    its commits counted in ``metrics`` when given."""
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    try:
        async with migration_lock(engine):
            await migrate(engine)
            keyring = await bind_keyring(engine, settings.key_file)
        return Database(engine, keyring, metrics.committed if metrics else None)
    except BaseException:
        await engine.dispose()
        raise


async def refresh_links(
    links: Links, database: Database, settings: Settings, metrics: Metrics | None = None
) -> None:
    """Connects to the acquirers the operator added since the last look, and takes the
    changed rules of those connected; one that cannot be connected now is tried again at the
    next look, and stops none of the others."""
    try:
        acquirers = await list_acquirers(database)
    except Exception:
        log.exception("the acquirers could not be read")
        return
    for acquirer in acquirers:
        link = links.get(acquirer.name)
        if link is not None:
            links.by_name[acquirer.name] = replace(link, acquirer=acquirer)
            continue
        try:
            links.by_name[acquirer.name] = await _connect(acquirer, database, settings, metrics)
        except Exception:
            log.exception("acquirer %s is not connected; tried again later", acquirer.name)


async def _connect(
    acquirer: Acquirer,
    database: Database,
    settings: Settings,
    metrics: Metrics | None,
    address: tuple[str, int] | None = None,
) -> Link:
    """Leases the node's terminal at the acquirer and opens its link (signed on now if the
    processing center is up, else by the first request); ``address``: where it listens, when
    not its ``processing``."""
    pool = Pool(acquirer.terminal_id, acquirer.terminal_pool)
    terminal = await Terminal.lease(database, pool)
    host, port = address or processing_address(acquirer.processing)
    processing = Iso8583ProcessingCenter(
        host,
        port,
        terminal_id=terminal.id,
        acquirer_id=acquirer.acquirer_id,
        timeout=settings.processing_timeout,
        metrics=metrics.link(acquirer.name) if metrics else None,
    )
    await processing.start()
    terminal.start_keeping(database, pool, processing.sign_on_as)
    log.info("acquirer %s: processing center %s:%s, terminal %s", acquirer.name, host, port,
             terminal.id)  # fmt: skip
    return Link(acquirer, processing, terminal)


async def _keep_links(
    links: Links, database: Database, settings: Settings, metrics: Metrics
) -> None:
    while True:
        await asyncio.sleep(ACQUIRERS_REFRESH)
        await refresh_links(links, database, settings, metrics)


@dataclass
class Runtime:
    """Everything an ``ips`` process runs, started and stopped together."""

    settings: Settings
    database: Database
    processing: Iso8583ProcessingCenter
    services: Services
    sender: HttpCallbackSender
    simulator: EmbeddedSimulator | None = None
    """The simulator this process started (in a process of its own), when no processing
    center is named."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        engine = self.database.engine
        self.health = Health(lambda: schema_state(engine), self.processing, self.heartbeats)

    def start_workers(self) -> None:
        gateway, settings = self.services.gateway, self.settings
        stale_after = timedelta(seconds=settings.processing_timeout * 2 + 30)
        delivery = Delivery(
            gateway.uow_factory,
            self.sender,
            gateway.clock,
            settings.allowed_notification_ports,
            metrics=gateway.metrics,
        )
        loops = [
            janitor_loop(gateway, settings.janitor_interval, stale_after),
            settlement_loop(gateway, settings.settlement_cutoff),
            notification_loop(delivery, settings.notification_interval),
            webhook_loop(delivery, settings.notification_interval),
        ]
        self.heartbeats += [loop.heartbeat for loop in loops]
        self.tasks += [asyncio.create_task(loop.run(self.stopping)) for loop in loops]

    async def stop_workers(self) -> None:
        """Lets each worker finish the run it is in, then ends it (cancelled only when this
        wait is cancelled itself)."""
        self.stopping.set()
        try:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def running(settings: Settings, *, workers: bool = True) -> AsyncIterator[Runtime]:
    metrics = Metrics()
    database = await open_database(settings, metrics)
    simulator = None
    if not settings.processing:
        simulator = EmbeddedSimulator(settings.simulator_store)
        await simulator.start()
    address = ("127.0.0.1", simulator.port) if simulator else None
    default = await _connect(settings.default_acquirer, database, settings, metrics, address)
    processing, terminal = default.processing, default.terminal
    assert isinstance(processing, Iso8583ProcessingCenter)
    links = Links()
    await refresh_links(links, database, settings, metrics)
    keeping_links = asyncio.create_task(_keep_links(links, database, settings, metrics))
    http_side = simulator.http_url if simulator else ""
    threeds_url, wallet_url = settings.threeds_url or http_side, settings.wallet_url or http_side
    secure = (
        HttpThreeDSecure(
            threeds_url,
            settings.processing_timeout,
            ranges_refresh=settings.threeds_ranges_refresh,
        )
        if threeds_url
        else None
    )
    wallet = HttpWallet(wallet_url, settings.processing_timeout) if wallet_url else None
    loyalty_url = settings.loyalty_url or http_side
    loyalty = HttpLoyalty(loyalty_url, settings.processing_timeout) if loyalty_url else None
    gateway = Gateway(
        uow_factory=database,
        processing=processing,
        keyring=database.keyring,
        reversal_attempts=settings.reversal_attempts,
        rules=settings.rules,
        timings=Timings(order_lifetime=settings.order_lifetime, hold_period=settings.hold_period),
        secure=secure or NoThreeDSecure(),
        wallet=wallet,
        loyalty=loyalty,
        credentials=CredentialCache(timedelta(seconds=settings.credential_cache_seconds)),
        terminal=terminal,
        links=links,
        metrics=metrics,
    )
    services = Services(
        gateway,
        FormTokens(database.keyring.derive("form tokens")),
        settings.allowed_notification_ports,
        trusted_proxies=settings.trusted_proxy_networks,
        metrics_networks=settings.metrics_network_list,
        metrics_token=settings.metrics_token,
    )
    sender = HttpCallbackSender(networks=settings.allowed_notification_networks)
    runtime = Runtime(settings, database, processing, services, sender, simulator)
    if workers:
        runtime.start_workers()
    try:
        yield runtime
    finally:
        try:
            await runtime.stop_workers()
        finally:
            keeping_links.cancel()
            await asyncio.gather(keeping_links, return_exceptions=True)
            for link in links.by_name.values():
                assert isinstance(link.processing, Iso8583ProcessingCenter)
                await link.processing.close()
                await link.terminal.stop(database)
            await processing.close()
            await runtime.sender.close()
            for client in (secure, wallet, loyalty):
                if client is not None:
                    await client.close()
            if simulator is not None:
                await simulator.stop()
            await terminal.stop(database)
            await database.dispose()
