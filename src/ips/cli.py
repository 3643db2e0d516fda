"""The ``ips`` command."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from ips import eventloop, node, supervisor
from ips.bootstrap import Runtime, open_database, running
from ips.config import Settings
from ips.domain.acquirers import (
    DEFAULT_ACQUIRER,
    Acquirer,
    Route,
    format_routes,
    parse_acquirer_name,
    parse_brand,
)
from ips.domain.api_keys import Scope
from ips.domain.errors import DomainError, NotFound
from ips.domain.merchants import NOTIFIED, BuyerField, Merchant
from ips.domain.money import currency as parse_currency
from ips.domain.notifications import AnswerMode
from ips.domain.orders import DEFAULT_PAYMENT_ATTEMPTS, OperationKind, PaymentMeans
from ips.domain.points import DEFAULT_POINTS_SHARE
from ips.domain.reconciliation import Difference
from ips.domain.settlement import BatchStatus
from ips.domain.users import Role
from ips.logs import setup as logs
from ips.metrics import MULTIPROCESS_DIR
from ips.processing import bank_report
from ips.processing.bank_report import ReportRefused
from ips.processing.embedded_bank import SOURCE, EmbeddedSimulator
from ips.services import operators, settlement, webhooks
from ips.services.accounts import add_user
from ips.services.acquirers import (
    AcquirerSettings,
    add_acquirer,
    change_acquirer,
    get_acquirer,
    list_acquirers,
)
from ips.services.api_keys import api_keys_of, create_api_key, revoke_api_key
from ips.services.audit import command_actor
from ips.services.clock import utc_now
from ips.services.merchants import (
    AddMerchant,
    ChangeMerchant,
    add_merchant,
    change_merchant,
    list_merchants,
    set_disabled,
)
from ips.services.points_report import ReportResult, report_points
from ips.services.rates import SetRate, rate_history, set_rate
from ips.services.reconciliation import reconcile_and_keep
from ips.services.settlement import BatchReport
from ips.storage.unit_of_work import Database as StoredDatabase
from ips.web.app import create_app, scrapes
from ips.web.health import health_app

app = typer.Typer(
    help="IPS — the Internet Payment System.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash must not print a password it was given
)
merchant_app = typer.Typer(help="Merchants (shops) that may take payments.", no_args_is_help=True)
app.add_typer(merchant_app, name="merchant")
rate_app = typer.Typer(help="Exchange rates for orders in currencies the processing center "
                       "does not take.", no_args_is_help=True)  # fmt: skip
app.add_typer(rate_app, name="rate")
_command = ["ips"]
"""What the log lines of this process name it: ``ips serve``, ``ips worker``…"""


@app.callback()
def _named(context: typer.Context) -> None:
    if context.invoked_subcommand:
        _command[0] = f"ips {context.invoked_subcommand}"


user_app = typer.Typer(help="Users of the Personal Account (/cabinet).", no_args_is_help=True)
app.add_typer(user_app, name="user")

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="sqlite:///path or postgresql://user@host:port/db (default: IPS_DATABASE_URL, "
        "else sqlite:///ips.sqlite3)",
    ),
]


def _settings(database: str | None = None, **overrides: object) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "IPS_" + "_".join(map(str, error["loc"])).upper()
            said = error.get("ctx", {}).get("error", error["msg"])
            typer.echo(f"error: {name}: {said}", err=True)
        raise typer.Exit(1) from None
    changes = {key: value for key, value in overrides.items() if value is not None}
    if database:
        changes["database_url"] = database
    settings = settings.model_copy(update=changes)
    _logging(settings)
    return settings


R = TypeVar("R")


def _on_database(settings: Settings, work: Callable[[StoredDatabase], Awaitable[R]]) -> R:
    """Runs ``work`` on the database; a refused command says why on stderr and exits 1."""

    async def run() -> R:
        db = await open_database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    with _refused():
        return asyncio.run(run())


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """A refused command says why on stderr and exits 1."""
    try:
        yield
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


_RUNNING = frozenset({"ips serve", "ips worker", "ips settle", "ips points"})
"""The commands that log what they do from ``IPS_LOG_LEVEL`` up; the others (``ips merchant
add``…) say what they did on standard output, and log only their warnings."""


def _logging(settings: Settings) -> None:
    """The command's logs, as the settings say (``logs/setup.py``), each line naming the
    command (``ips serve``)."""
    level = settings.log_level
    if _command[0] not in _RUNNING and level in ("DEBUG", "INFO"):
        level = "WARNING"
    logs.configure(_command[0], format=settings.log_format, level=level, directory=settings.log_dir)


Processing = Annotated[
    str | None,
    typer.Option(
        help="HOST:PORT of the processing center; without it IPS starts the simulator itself."
    ),
]
ProcessingHttp = Annotated[
    str | None,
    typer.Option(
        "--processing-http",
        help="Base URL of the simulator's 3-D Secure, wallet and points (with --processing).",
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    database: Database = None,
    processing: Processing = None,
    processing_http: ProcessingHttp = None,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run the background workers in this process too (--no-workers: leave them "
            "to `ips worker`).",
        ),
    ] = True,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Node processes answering on the port, each with its own database pool, "
            "link and terminal; usually the number of cores. More than 1 needs PostgreSQL; "
            "the first process alone runs the background workers.",
        ),
    ] = 1,
    listen_fd: Annotated[int | None, typer.Option("--listen-fd", hidden=True)] = None,
    supervisor_fd: Annotated[int | None, typer.Option("--supervisor-fd", hidden=True)] = None,
) -> None:
    """Run the gateway: payment pages and web services, and the background workers."""
    settings = _node_settings(database, processing, processing_http)
    base = f"http://{host}:{port}"
    roles = f"HTTP and {_WORKERS}" if workers else "HTTP only (no background workers)"

    def said(simulator: EmbeddedSimulator | None) -> None:
        typer.echo(f"IPS serves {base}/pay/order.cfm (payment requests)")
        typer.echo(f"IPS serves {base}/orderstate/orderstate.cfm (web service)")
        _said_where(settings, simulator)
        typer.echo(f"roles: {roles}; ready at {base}/health/ready")

    if processes > 1:
        _serve_processes(settings, processes, host, port, workers=workers, said=said)
        return

    def started(runtime: Runtime) -> None:
        if supervisor_fd is None:
            said(runtime.simulator)
        else:  # one of the processes of --processes: its parent has said the rest
            terminal = runtime.services.gateway.terminal.id
            typer.echo(f"node process {os.getpid()} ready: {roles}; terminal {terminal}")

    http = node.Http(
        lambda runtime: create_app(runtime.services, health=runtime.health),
        host,
        port,
        # uvicorn reads X-Forwarded-For (and -Proto) from the same proxies as client_ip, by the
        # same rule, and from no one else (its default trusts 127.0.0.1).
        proxies=[str(network) for network in settings.trusted_proxy_networks],
        grace=settings.shutdown_grace,
        sock=None if listen_fd is None else socket.socket(fileno=listen_fd),
    )
    supervisor = None if supervisor_fd is None else socket.socket(fileno=supervisor_fd)
    _run_node(settings, workers=workers, http=http, started=started, supervisor=supervisor)


def _serve_processes(
    settings: Settings,
    count: int,
    host: str,
    port: int,
    *,
    workers: bool,
    said: Callable[[EmbeddedSimulator | None], None],
) -> None:
    """``ips serve --processes COUNT``: the parent of the node processes (``ips.supervisor``),
    and of the simulator when no processing center is named."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        typer.echo(
            f"error: --processes {count} needs PostgreSQL: an SQLite database "
            f"({url.render_as_string(hide_password=True)}) is one process's",
            err=True,
        )
        raise typer.Exit(1)
    try:
        sock = node.bind(host, port)
    except node.CannotListen as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

    def arguments(number: int) -> list[str]:
        role = "--workers" if workers and number == 0 else "--no-workers"
        return ["--host", host, "--port", str(port), role]

    def started(pids: Sequence[int]) -> None:
        first = " (the first runs the background workers)" if workers else ""
        typer.echo(f"node processes: {', '.join(map(str, pids))}{first}")

    async def run() -> int:
        env = {
            **os.environ,
            "IPS_DATABASE_URL": settings.database_url,
            MULTIPROCESS_DIR: values,  # a scrape of any node adds up all of theirs
        }
        simulator = None
        if not settings.processing:  # one simulator for all, in a process of its own
            simulator = EmbeddedSimulator(settings.simulator_store)
            await simulator.start()
        http_side = simulator.http_url if simulator else ""
        env |= {
            "IPS_PROCESSING": f"127.0.0.1:{simulator.port}" if simulator else settings.processing,
            "IPS_THREEDS_URL": settings.threeds_url or http_side,
            "IPS_WALLET_URL": settings.wallet_url or http_side,
            "IPS_LOYALTY_URL": settings.loyalty_url or http_side,
        }
        try:
            said(simulator)
            return await supervisor.supervise(count, sock, arguments, env, started)
        finally:
            if simulator is not None:
                await simulator.stop()

    values = tempfile.mkdtemp(prefix="ips-metrics-")
    try:
        status = eventloop.run(run())
    finally:
        sock.close()
        shutil.rmtree(values, ignore_errors=True)
    raise typer.Exit(status)


@app.command()
def worker(
    database: Database = None,
    processing: Processing = None,
    processing_http: ProcessingHttp = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            "--health-port", help="Serve /health/live and /health/ready on this HTTP port."
        ),
    ] = None,
    health_host: Annotated[
        str, typer.Option("--health-host", help="Address of the health port.")
    ] = "127.0.0.1",
) -> None:
    """Run the background workers alone: the janitor (unanswered messages, expired orders
    and holds), settlement and notifications. Any number may run beside `ips serve`."""
    settings = _node_settings(database, processing, processing_http)
    http = None
    if health_port is not None:
        http = node.Http(
            lambda runtime: health_app(runtime.health, scrapes(runtime.services)),
            health_host,
            health_port,
        )

    def started(runtime: Runtime) -> None:
        _said_where(runtime.settings, runtime.simulator)
        health = f"http://{health_host}:{health_port}/health/ready" if http else "not served"
        typer.echo(f"roles: {_WORKERS} only; health: {health}")

    _run_node(settings, workers=True, http=http, started=started)


_WORKERS = "the background workers (janitor, settlement, notifications)"


def _node_settings(
    database: str | None, processing: str | None, processing_http: str | None
) -> Settings:
    return _settings(
        database,
        processing=processing,
        processing_http=processing_http,
        threeds_url=processing_http,
        wallet_url=processing_http,
        loyalty_url=processing_http,
    )


def _said_where(settings: Settings, simulator: EmbeddedSimulator | None) -> None:
    where = (
        f"simulator on 127.0.0.1:{simulator.port} (a process of its own), pages at "
        f"{simulator.http_url}"
        if simulator
        else settings.processing
    )
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    typer.echo(f"database {database}; processing center: {where}")


def _run_node(
    settings: Settings,
    *,
    workers: bool,
    http: node.Http | None,
    started: Callable[[Runtime], None],
    supervisor: socket.socket | None = None,
) -> None:
    try:
        eventloop.run(
            node.run(settings, workers=workers, http=http, started=started, supervisor=supervisor)
        )
    except node.CannotListen as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("processing-center")
def processing_center(
    port: Annotated[int, typer.Option(help="TCP port for ISO 8583.")] = 8583,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    store: Annotated[Path, typer.Option(help="The bank's own books (SQLite file).")] = Path(
        "processing-center.sqlite3"
    ),
    http_port: Annotated[
        int,
        typer.Option("--http-port", help="HTTP port of its 3-D Secure, wallet and report."),
    ] = 8584,
    name: Annotated[str, typer.Option(help="The bank's name, in its report.")] = "DEMOBANK",
    acquirer_id: Annotated[
        str | None,
        typer.Option(
            "--acquirer-id",
            help="The acquirer id it issued: messages naming another are refused (92).",
        ),
    ] = None,
    double_stage: Annotated[
        bool,
        typer.Option(
            "--double-stage/--no-double-stage", help="Whether it takes pre-authorizations."
        ),
    ] = True,
    stored_card_double_stage: Annotated[
        bool,
        typer.Option(
            "--stored-card-double-stage/--no-stored-card-double-stage",
            help="Whether it takes pre-authorizations of a stored card.",
        ),
    ] = True,
    currencies: Annotated[
        str,
        typer.Option(help="The currencies it takes, comma-separated (RUB,USD); all when empty."),
    ] = "",
) -> None:
    """Run a simulated bank (``demobank``) as a process of its own: an acquirer host speaking
    ISO 8583 over TCP with its own books and rules, and over HTTP the issuer's 3-D Secure
    pages, an e-wallet, a points program and its settlement report. Several run side by side,
    each with its own --name, ports and --store."""
    argv = [sys.executable, "-m", "demobank", "--name", name, "--host", host]
    argv += ["--port", str(port), "--http-port", str(http_port), "--store", str(store)]
    argv += ["--acquirer-id", acquirer_id] if acquirer_id is not None else []
    argv += [] if double_stage else ["--no-double-stage"]
    argv += [] if stored_card_double_stage else ["--no-stored-card-double-stage"]
    argv += ["--currencies", currencies] if currencies else []
    path = os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")]))
    sys.stdout.flush()
    # The bank is a program apart, which IPS runs but does not import: it takes this process.
    os.execve(sys.executable, argv, {**os.environ, "PYTHONPATH": path})  # noqa: S606


@merchant_app.command("add")
def merchant_add(
    merchant_id: Annotated[str, typer.Option("--merchant-id", help="Merchant_ID (digits).")],
    name: Annotated[str, typer.Option(help="The shop's name, shown to buyers.")],
    login: Annotated[str, typer.Option(help="Login for the web services.")],
    password: Annotated[str, typer.Option(help="Password for the web services.")],
    secret_word: Annotated[
        str, typer.Option("--secret-word", help="The secret word (SALT) of checkvalues.")
    ],
    callback_url: Annotated[
        str, typer.Option("--callback-url", help="Where payment notifications go.")
    ] = "",
    notify: Annotated[
        str,
        typer.Option(
            help="The results notified: payment, confirmation, cancel, accrual (comma-separated)."
        ),
    ] = "payment",
    notify_answer: Annotated[
        AnswerMode,
        typer.Option(
            "--notify-answer",
            help="pushpaymentresult: the shop answers the Assist XML; plain: any HTTP 200.",
        ),
    ] = AnswerMode.PUSHPAYMENTRESULT,
    double_stage: Annotated[
        bool,
        typer.Option("--double-stage/--no-double-stage", help="May the shop use Delay=1?"),
    ] = False,
    currency: Annotated[str, typer.Option(help="Default currency of orders.")] = "RUB",
    means: Annotated[
        str,
        typer.Option(
            help="Ways to pay the shop offers: card, wallet, points (comma-separated; points "
            "pay part of an order beside a card or the wallet)."
        ),
    ] = "card,wallet",
    require: Annotated[
        str,
        typer.Option(help="Buyer's data the shop needs: email, name, phone (comma-separated)."),
    ] = "",
    require_3ds: Annotated[
        bool, typer.Option("--require-3ds", help="Refuse cards without 3-D Secure.")
    ] = False,
    allow_disable_3ds: Annotated[
        bool,
        typer.Option("--allow-disable-3ds", help="Let payment requests skip 3-D Secure."),
    ] = False,
    return_host: Annotated[
        list[str] | None,
        typer.Option(
            "--return-host",
            help="A host the shop's buyers may be sent back to (repeatable; subdomains too).",
        ),
    ] = None,
    ws_address: Annotated[
        list[str] | None,
        typer.Option(
            "--ws-address",
            help="An address or network (CIDR) allowed to call the web services (repeatable; "
            "none: any).",
        ),
    ] = None,
    require_checkvalue: Annotated[
        bool,
        typer.Option(
            "--require-checkvalue/--no-require-checkvalue",
            help="Refuse payment requests without a checkvalue.",
        ),
    ] = False,
    checkvalue_legacy_concat: Annotated[
        bool,
        typer.Option(
            "--checkvalue-legacy-concat",
            help="Also accept checkvalues over the fields joined without separators (weaker: "
            "a value can move between fields; docs/api.md).",
        ),
    ] = False,
    payment_attempts: Annotated[
        int,
        typer.Option(
            "--payment-attempts",
            help="Payments a buyer may try on one order (another after a decline).",
        ),
    ] = DEFAULT_PAYMENT_ATTEMPTS,
    points_share: Annotated[
        int,
        typer.Option("--points-share", help="Percent of an order bonus points may pay (1-100)."),
    ] = DEFAULT_POINTS_SHARE,
    points_accrual: Annotated[
        int,
        typer.Option(
            "--points-accrual",
            help="Percent of a card payment accrued to the buyer in bonus points (0-100; 0: none).",
        ),
    ] = 0,
    database: Database = None,
) -> None:
    """Register a merchant."""
    command = AddMerchant(
        merchant_id=merchant_id,
        name=name,
        login=login,
        password=password,
        secret_word=secret_word,
        default_currency=currency,
        double_stage=double_stage,
        callback_url=callback_url,
        require_checkvalue=require_checkvalue,
        checkvalue_legacy_concat=checkvalue_legacy_concat,
        return_hosts=tuple(return_host or ()),
        ws_addresses=tuple(ws_address or ()),
        notify_kinds=_choices(notify, _KINDS, "--notify"),
        notify_answer=notify_answer,
        means=_choices(means, _MEANS, "--means"),
        required_fields=_choices(require, _FIELDS, "--require"),
        require_3ds=require_3ds,
        allow_disable_3ds=allow_disable_3ds,
        payment_attempts=payment_attempts,
        points_share=points_share,
        points_accrual=points_accrual,
    )

    settings = _settings(database)
    ports = settings.allowed_notification_ports
    actor = command_actor()
    _on_database(settings, lambda db: add_merchant(command, db, ports=ports, actor=actor))
    typer.echo(f"merchant {merchant_id} added")


_KINDS: dict[str, OperationKind] = {name: kind for kind, name in NOTIFIED.items()}


_MEANS = {means.value: means for means in PaymentMeans}
_FIELDS = {field.value: field for field in BuyerField}

T = TypeVar("T")


def _choices(text: str, known: dict[str, T], option: str) -> frozenset[T]:
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    unknown = names - set(known)
    if unknown:
        raise typer.BadParameter(f"unknown: {', '.join(sorted(unknown))}", param_hint=option)
    return frozenset(known[name] for name in names)


@merchant_app.command("list")
def merchant_list(database: Database = None) -> None:
    """List the merchants."""

    merchants = _on_database(_settings(database), list_merchants)
    typer.echo(f"{'MERCHANT_ID':<12} {'LOGIN':<16} {'CUR':<4} {'2-STAGE':<8} NAME")
    for m in merchants:
        stage = "yes" if m.double_stage else "no"
        cur = m.default_currency.code
        name = f"{m.name} (disabled)" if m.disabled else m.name
        typer.echo(f"{m.merchant_id:<12} {m.login:<16} {cur:<4} {stage:<8} {name}")


MerchantId = Annotated[str, typer.Option("--merchant-id", help="Merchant_ID.")]


@merchant_app.command("show")
def merchant_show(merchant_id: MerchantId, database: Database = None) -> None:
    """Show every setting of a merchant (the password and the secret word only as set)."""

    async def read(db: StoredDatabase) -> Merchant:
        async with db(readonly=True) as uow:
            found = await uow.merchants.get(merchant_id)
        if found is None:
            raise NotFound(f"no merchant {merchant_id}", field="merchant_id")
        return found

    m = _on_database(_settings(database), read)
    for name, value in (
        ("merchant_id", m.merchant_id), ("name", m.name), ("login", m.login),
        ("password", "set"), ("secret_word", "set"),
        ("disabled", m.disabled), ("currency", m.default_currency.code),
        ("double_stage", m.double_stage), ("callback_url", m.callback_url or "-"),
        ("notify", ",".join(sorted(n for n, k in _KINDS.items() if k in m.notify_kinds)) or "-"),
        ("notify_answer", m.notify_answer.value), ("means", _words(m.means)),
        ("require", _words(m.required_fields)), ("require_3ds", m.require_3ds),
        ("allow_disable_3ds", m.allow_disable_3ds),
        ("return_hosts", " ".join(m.return_hosts) or "-"),
        ("ws_addresses", " ".join(m.ws_addresses) or "any"),
        ("require_checkvalue", m.require_checkvalue),
        ("checkvalue_legacy_concat", m.checkvalue_legacy_concat),
        ("payment_attempts", m.payment_attempts), ("points_share", m.points_share),
        ("points_accrual", m.points_accrual),
        ("acquirers", format_routes(m.routes) or DEFAULT_ACQUIRER),
    ):  # fmt: skip
        shown = _yes(value) if isinstance(value, bool) else value
        typer.echo(f"{name:<26} {shown}")


def _words(values: Iterable[enum.Enum]) -> str:
    return ",".join(sorted(str(v.value) for v in values)) or "-"


def _flag(name: str, help_: str) -> Any:
    return typer.Option(f"--{name}/--no-{name}", help=help_, show_default=False)


@merchant_app.command("set")
def merchant_set(
    merchant_id: MerchantId,
    name: Annotated[str | None, typer.Option(help="The shop's name.")] = None,
    password: Annotated[str | None, typer.Option(help="A new web-service password.")] = None,
    secret_word: Annotated[
        str | None, typer.Option("--secret-word", help="A new secret word (at once).")
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(help="Default currency of orders; with --acquirer, the route's currency."),
    ] = None,
    acquirer: Annotated[
        str | None,
        typer.Option(
            help="Route the shop's card payments to this acquirer ('default': the settings'), "
            "all of them or those of --currency and --brand; open holds stay where they are."
        ),
    ] = None,
    brand: Annotated[
        str | None, typer.Option(help="With --acquirer: the card brand the route is for (MIR).")
    ] = None,
    double_stage: Annotated[bool | None, _flag("double-stage", "Double-stage payments.")] = None,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="Where notifications go ('' none).")
    ] = None,
    notify: Annotated[str | None, typer.Option(help="The results notified.")] = None,
    notify_answer: Annotated[
        AnswerMode | None, typer.Option("--notify-answer", help="The shop's answer.")
    ] = None,
    means: Annotated[str | None, typer.Option(help="Ways to pay (comma-separated).")] = None,
    require: Annotated[str | None, typer.Option(help="Buyer's data required.")] = None,
    require_3ds: Annotated[bool | None, _flag("require-3ds", "Refuse cards without 3DS.")] = None,
    allow_disable_3ds: Annotated[
        bool | None, _flag("allow-disable-3ds", "Let requests skip 3-D Secure.")
    ] = None,
    return_host: Annotated[
        list[str] | None, typer.Option("--return-host", help="The return hosts (replaced).")
    ] = None,
    ws_address: Annotated[
        list[str] | None, typer.Option("--ws-address", help="Web-service addresses (replaced).")
    ] = None,
    require_checkvalue: Annotated[
        bool | None, _flag("require-checkvalue", "Refuse requests without a checkvalue.")
    ] = None,
    checkvalue_legacy_concat: Annotated[
        bool | None, _flag("checkvalue-legacy-concat", "Accept unseparated checkvalues.")
    ] = None,
    payment_attempts: Annotated[
        int | None, typer.Option("--payment-attempts", help="Attempts an order.")
    ] = None,
    points_share: Annotated[
        int | None, typer.Option("--points-share", help="Percent points may pay.")
    ] = None,
    points_accrual: Annotated[
        int | None, typer.Option("--points-accrual", help="Percent accrued in points.")
    ] = None,
    database: Database = None,
) -> None:
    """Change a merchant's settings: those given, checked as at ``add``."""
    route = None
    if acquirer is not None:
        with _refused():
            route = Route(
                parse_acquirer_name(acquirer),
                parse_currency(currency) if currency else None,
                parse_brand(brand) if brand else None,
            )
    elif brand is not None:
        raise typer.BadParameter("--brand names the card brand of an --acquirer route")
    command = ChangeMerchant(
        name=name,
        password=password,
        secret_word=secret_word,
        default_currency=currency if route is None else None,
        route=route,
        double_stage=double_stage,
        callback_url=callback_url,
        notify_kinds=_choices(notify, _KINDS, "--notify") if notify is not None else None,
        notify_answer=notify_answer,
        means=_choices(means, _MEANS, "--means") if means is not None else None,
        required_fields=_choices(require, _FIELDS, "--require") if require is not None else None,
        require_3ds=require_3ds,
        allow_disable_3ds=allow_disable_3ds,
        return_hosts=tuple(return_host) if return_host is not None else None,
        ws_addresses=tuple(ws_address) if ws_address is not None else None,
        require_checkvalue=require_checkvalue,
        checkvalue_legacy_concat=checkvalue_legacy_concat,
        payment_attempts=payment_attempts,
        points_share=points_share,
        points_accrual=points_accrual,
    )
    settings = _settings(database)
    ports, actor = settings.allowed_notification_ports, command_actor()
    changed = _on_database(
        settings,
        lambda db: change_merchant(merchant_id, command, db, ports=ports, actor=actor),
    )
    if not changed.fields:
        typer.echo(f"merchant {merchant_id}: every setting was as given already")
        return
    typer.echo(f"merchant {merchant_id} changed: {', '.join(changed.fields)}")
    if changed.notice:
        typer.echo(changed.notice)


@merchant_app.command("disable")
def merchant_disable(merchant_id: MerchantId, database: Database = None) -> None:
    """Take no new orders for the merchant; its confirmations, cancels and web services go on."""
    _disable(merchant_id, True, database)
    typer.echo(f"merchant {merchant_id} disabled: it takes no new orders")


@merchant_app.command("enable")
def merchant_enable(merchant_id: MerchantId, database: Database = None) -> None:
    """Take new orders for the merchant again."""
    _disable(merchant_id, False, database)
    typer.echo(f"merchant {merchant_id} enabled")


def _disable(merchant_id: str, disabled: bool, database: str | None) -> None:
    actor = command_actor()
    _on_database(
        _settings(database), lambda db: set_disabled(merchant_id, disabled, db, actor=actor)
    )


acquirer_app = typer.Typer(
    help="Acquiring banks: the processing centers card payments go to.", no_args_is_help=True
)
app.add_typer(acquirer_app, name="acquirer")
AcquirerName = Annotated[str, typer.Argument(help="The acquirer's name (BANK-A).")]
ProcessingOption = Annotated[
    str | None, typer.Option(help="HOST:PORT of its processing center (ISO 8583 over TCP).")
]
AcquirerHttp = Annotated[
    str | None,
    typer.Option("--processing-http", help="Base URL of its HTTP side (its settlement report)."),
]
TerminalId = Annotated[
    str | None,
    typer.Option("--terminal-id", help="The terminal id it issued (default: IPSA0001, IPSB0001…)."),
]
TerminalPool = Annotated[
    str | None, typer.Option("--terminal-pool", help="Its terminal ids, comma-separated.")
]
AcquirerId = Annotated[
    str | None, typer.Option("--acquirer-id", help="The acquirer id it issued (field 32).")
]
Currencies = Annotated[
    str | None, typer.Option(help="The currencies it takes, comma-separated ('' all).")
]
DoubleStage = Annotated[bool | None, _flag("double-stage", "It takes double-stage payments.")]
StoredCardDoubleStage = Annotated[
    bool | None,
    _flag("stored-card-double-stage", "It takes double-stage payments with a stored card."),
]
CardOnFile = Annotated[
    bool | None, _flag("card-on-file", "It takes a buyer's kept card without its CVC.")
]
Require3ds = Annotated[bool | None, _flag("require-3ds", "It refuses cards without 3DS.")]
Cutoff = Annotated[
    str | None,
    typer.Option("--settlement-cutoff", help="Daily time (UTC) its batches close (23:00)."),
]


def _acquirer_command(adding: bool) -> Callable[..., None]:
    """``ips acquirer add`` or ``set``: the same settings, all given or those to change."""

    def command(
        name: AcquirerName,
        processing: ProcessingOption = None,
        processing_http: AcquirerHttp = None,
        terminal_id: TerminalId = None,
        terminal_pool: TerminalPool = None,
        acquirer_id: AcquirerId = None,
        currencies: Currencies = None,
        double_stage: DoubleStage = None,
        stored_card_double_stage: StoredCardDoubleStage = None,
        card_on_file: CardOnFile = None,
        require_3ds: Require3ds = None,
        settlement_cutoff: Cutoff = None,
        database: Database = None,
    ) -> None:
        wanted = AcquirerSettings(
            processing, processing_http, terminal_id, _ids(terminal_pool), acquirer_id,
            currencies, double_stage, stored_card_double_stage, card_on_file, require_3ds,
            settlement_cutoff,
        )  # fmt: skip
        if not adding:
            _set_acquirer(name, wanted, database)
            typer.echo(f"acquirer {name} changed")
            return
        settings = _settings(database)
        taken, me = _terminals_of_settings(settings), command_actor()
        added = _on_database(
            settings, lambda db: add_acquirer(name, wanted, db, taken_terminals=taken, actor=me)
        )
        typer.echo(f"acquirer {added.name} added: {added.processing}, terminal {added.terminal_id}")

    return command


acquirer_app.command(
    "add", help="Add an acquirer; the running nodes connect to it within 10 seconds."
)(_acquirer_command(adding=True))
acquirer_app.command(
    "set",
    help="Change an acquirer's settings: its rules hold on the running nodes within 10 "
    "seconds; a new address, terminal or acquirer id when they restart.",
)(_acquirer_command(adding=False))


@acquirer_app.command("disable")
def acquirer_disable(name: AcquirerName, database: Database = None) -> None:
    """Send no new payments to the acquirer; what follows from its holds still goes to it."""
    _set_acquirer(name, AcquirerSettings(disabled=True), database)
    typer.echo(f"acquirer {name} disabled: it takes no new payments")


@acquirer_app.command("enable")
def acquirer_enable(name: AcquirerName, database: Database = None) -> None:
    """Send new payments to the acquirer again."""
    _set_acquirer(name, AcquirerSettings(disabled=False), database)
    typer.echo(f"acquirer {name} enabled")


def _set_acquirer(name: str, wanted: AcquirerSettings, database: str | None) -> None:
    settings = _settings(database)
    taken, me = _terminals_of_settings(settings), command_actor()
    _on_database(
        settings, lambda db: change_acquirer(name, wanted, db, taken_terminals=taken, actor=me)
    )


@acquirer_app.command("list")
def acquirer_list(database: Database = None) -> None:
    """List the acquirers: the default one (the settings') first."""
    settings = _settings(database)
    for a in [settings.default_acquirer, *_on_database(settings, list_acquirers)]:
        rules = a.rules
        typer.echo(
            f"{a.name:<16} {a.processing or 'simulator':<22} {','.join(a.terminal_ids):<10} "
            f"{','.join(c.code for c in rules.currencies) or 'all':<12} "
            f"double-stage {_yes(rules.double_stage)}/{_yes(rules.stored_card_double_stage)} "
            f"cut-off {a.settlement_cutoff:%H:%M}{'  disabled' if a.disabled else ''}"
        )


@acquirer_app.command("show")
def acquirer_show(name: AcquirerName, database: Database = None) -> None:
    """Show every setting of an acquirer."""
    settings = _settings(database)
    a = (
        settings.default_acquirer
        if name == DEFAULT_ACQUIRER
        else _on_database(settings, lambda db: get_acquirer(name, db))
    )
    rules = a.rules
    for key, value in (
        ("name", a.name), ("processing", a.processing or "the built-in simulator"),
        ("processing_http", a.processing_http or "-"),
        ("terminal_ids", ",".join(a.terminal_ids)), ("acquirer_id", a.acquirer_id),
        ("currencies", ",".join(c.code for c in rules.currencies) or "all"),
        ("double_stage", rules.double_stage),
        ("stored_card_double_stage", rules.stored_card_double_stage),
        ("card_on_file", rules.card_on_file), ("require_3ds", rules.require_3ds),
        ("settlement_cutoff", f"{a.settlement_cutoff:%H:%M}"), ("disabled", a.disabled),
    ):  # fmt: skip
        typer.echo(f"{key:<26} {_yes(value) if isinstance(value, bool) else value}")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _ids(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


def _terminals_of_settings(settings: Settings) -> frozenset[str]:
    return frozenset({settings.terminal_id, *settings.terminal_pool_ids})


apikey_app = typer.Typer(help="Keys of the JSON API (/api/v1).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    merchant_id: MerchantId,
    name: Annotated[str, typer.Option(help="What the key is for (a server, a shop).")] = "",
    scope: Annotated[Scope, typer.Option(help="read, or write (which reads too).")] = Scope.WRITE,
    database: Database = None,
) -> None:
    """Make an API key of the merchant; it is shown once, alone on the last line."""
    me = command_actor()
    made, token = _on_database(
        _settings(database), lambda db: create_api_key(merchant_id, name, scope, db, actor=me)
    )
    typer.echo(f"key {made.key_id} of merchant {merchant_id} ({made.scope.value}), shown once:")
    typer.echo(token)


@apikey_app.command("list")
def apikey_list(merchant_id: MerchantId, database: Database = None) -> None:
    """The merchant's API keys (their ids, never the keys)."""
    for key in _on_database(_settings(database), lambda db: api_keys_of(merchant_id, db)):
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        typer.echo(
            f"{key.key_id}  {key.scope.value:<5}  {key.created_at:%Y-%m-%d %H:%M}  "
            f"{state:<24} {key.name}"
        )


@apikey_app.command("revoke")
def apikey_revoke(
    merchant_id: MerchantId,
    key_id: Annotated[str, typer.Argument(help="The key's id (ips apikey list).")],
    database: Database = None,
) -> None:
    """Revoke an API key at once: calls with it are refused from then on."""
    me = command_actor()
    _on_database(_settings(database), lambda db: revoke_api_key(merchant_id, key_id, db, actor=me))
    typer.echo(f"key {key_id} revoked")


webhook_app = typer.Typer(help="Webhook endpoints of a merchant.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")
EndpointId = Annotated[str, typer.Argument(help="The endpoint's id (ips webhook list).")]


@webhook_app.command("add")
def webhook_add(
    merchant_id: MerchantId,
    url: Annotated[str, typer.Option(help="Where the events are posted.")],
    events: Annotated[
        str, typer.Option(help="The event types wanted, comma-separated; all when absent.")
    ] = "",
    database: Database = None,
) -> None:
    """Add a webhook endpoint; its secret is shown once, alone on the last line."""
    settings = _settings(database)
    ports, me = settings.allowed_notification_ports, command_actor()
    made, secret = _on_database(
        settings,
        lambda db: webhooks.add_endpoint(merchant_id, url, events, db, ports=ports, actor=me),
    )
    typer.echo(f"endpoint {made.endpoint_id} of merchant {merchant_id}; its secret, shown once:")
    typer.echo(secret)


@webhook_app.command("list")
def webhook_list(merchant_id: MerchantId, database: Database = None) -> None:
    """The merchant's webhook endpoints (never their secrets)."""
    for made in _on_database(
        _settings(database), lambda db: webhooks.endpoints_of(merchant_id, db)
    ):
        rolled = (
            f"  old secret until {made.previous_until:%Y-%m-%d %H:%M}"
            if made.previous_until
            else ""
        )
        typer.echo(f"{made.endpoint_id}  {made.url}  {','.join(made.event_types) or '*'}{rolled}")


@webhook_app.command("roll")
def webhook_roll(
    merchant_id: MerchantId, endpoint_id: EndpointId, database: Database = None
) -> None:
    """A new secret for the endpoint (the old one signs beside it for 24 hours), shown once."""
    me = command_actor()
    secret = _on_database(
        _settings(database),
        lambda db: webhooks.roll_secret(merchant_id, endpoint_id, db, actor=me),
    )
    typer.echo(f"endpoint {endpoint_id}: its new secret, shown once:")
    typer.echo(secret)


@webhook_app.command("remove")
def webhook_remove(
    merchant_id: MerchantId, endpoint_id: EndpointId, database: Database = None
) -> None:
    """Remove the endpoint: what it still had to receive is not sent."""
    me = command_actor()
    _on_database(
        _settings(database),
        lambda db: webhooks.remove_endpoint(merchant_id, endpoint_id, db, actor=me),
    )
    typer.echo(f"endpoint {endpoint_id} removed")


@app.command()
def settle(
    acquirer: Annotated[
        str | None, typer.Option(help="Settle this acquirer's transactions only.")
    ] = None,
    database: Database = None,
) -> None:
    """Close the open settlement batches now and send them to their acquirers."""
    settings = _settings(database)

    async def run() -> list[BatchReport]:
        async with running(settings, workers=False) as runtime:
            gateway = runtime.services.gateway
            if acquirer is not None and gateway.acquirer(acquirer) is None:
                raise NotFound(f"no acquirer {acquirer} is connected", field="acquirer")
            return await settlement.settle(gateway, acquirer, actor=command_actor())

    with _refused():
        reports = asyncio.run(run())
    if not reports:
        typer.echo("nothing to settle")
    for report in reports:
        batch = report.batch
        typer.echo(f"batch {batch.id} {batch.currency} {batch.status.value} {batch.acquirer}")
        for line in report.merchants:
            typer.echo(
                f"  merchant {line.merchant_id:<12} debits {line.debits:>5} "
                f"{report.money(line.debit_total).format():>15}  credits {line.credits:>5} "
                f"{report.money(line.credit_total).format():>15}"
            )
    if any(r.batch.status is not BatchStatus.ACCEPTED for r in reports):
        raise typer.Exit(1)


@app.command()
def reconcile(
    report: Annotated[
        Path | None,
        typer.Option(help="The bank's settlement report (JSON), as the bank handed it in."),
    ] = None,
    report_url: Annotated[
        str | None,
        typer.Option(
            "--report-url",
            help="Where to fetch the bank's report (default: the acquirer's --processing-http, "
            "IPS_PROCESSING_HTTP for the default one, then /report).",
        ),
    ] = None,
    acquirer: Annotated[
        str, typer.Option(help="The acquirer whose report it is (its own books only).")
    ] = DEFAULT_ACQUIRER,
    database: Database = None,
) -> None:
    """Compare IPS's books of an acquirer with its settlement report; list every difference,
    kept until a later reconciliation no longer finds it (exit 1). A report that cannot be
    read, or is another acquirer's, is refused (exit 2)."""
    settings = _settings(database)
    bank_of = (
        settings.default_acquirer
        if acquirer == DEFAULT_ACQUIRER
        else _on_database(settings, lambda db: get_acquirer(acquirer, db))
    )
    try:
        text = _report_text(bank_of, report, report_url)
        bank = bank_report.read_report(text, bank_of.acquirer_id)
    except ReportRefused as exc:
        typer.echo(f"error: {exc}; nothing compared", err=True)
        raise typer.Exit(2) from None

    async def run(db: StoredDatabase) -> list[Difference]:
        return await reconcile_and_keep(
            db, bank.figures, bank_of.name, utc_now(), day=bank.day, actor=command_actor()
        )

    differences = _on_database(settings, run)
    for difference in differences:
        typer.echo(f"{difference} (since {difference.found_at:%Y-%m-%d %H:%M})")
    if differences:
        typer.echo(f"{len(differences)} difference(s)")
        raise typer.Exit(1)
    typer.echo("no differences")


def _report_text(acquirer: Acquirer, report: Path | None, url: str | None) -> bytes:
    """The report's bytes: the file, else fetched from ``url``, else from the acquirer's
    HTTP side."""
    if report is not None and url is not None:
        raise ReportRefused("name the report once: --report or --report-url")
    if report is not None:
        try:
            return report.read_bytes()
        except OSError as exc:
            raise ReportRefused(f"{report} cannot be read ({exc.strerror})") from None
    if url is None and not acquirer.processing_http:
        raise ReportRefused("no report: name it with --report FILE or --report-url URL")
    where = url or bank_report.report_url(acquirer.processing_http)
    return bank_report.fetch_report(where, acquirer.acquirer_id)


NewPassword = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 10 characters (asked for when not given).",
    ),
]
"""A password to sign in with, typed twice when not given."""


@user_app.command("add")
def user_add(
    merchant_id: Annotated[str, typer.Option("--merchant-id", help="The user's merchant.")],
    login: Annotated[str, typer.Option(help="The login to sign in with (unique).")],
    password: NewPassword,
    role: Annotated[
        Role,
        typer.Option(
            help="viewer reads; operator also confirms and cancels; admin also "
            "manages settings and users."
        ),
    ] = Role.OPERATOR,
    database: Database = None,
) -> None:
    """Add a user of a merchant's Personal Account."""
    me = command_actor()
    _on_database(
        _settings(database),
        lambda db: add_user(merchant_id, login, password, role, db, utc_now, actor=me),
    )
    typer.echo(f"user {login} ({role.value}) added to merchant {merchant_id}")


operator_app = typer.Typer(
    help="The operator's own staff, who sign in to the operator console (/admin).",
    no_args_is_help=True,
)
app.add_typer(operator_app, name="operator")
OperatorLogin = Annotated[str, typer.Option(help="The operator's login.")]


@operator_app.command("add")
def operator_add(
    login: Annotated[str, typer.Option(help="The login to sign in with (unique).")],
    password: NewPassword,
    role: Annotated[
        Role,
        typer.Option(
            help="viewer reads; operator also sends notifications and webhooks again; admin "
            "also administers merchants and acquirers, and signs in with a one-time code."
        ),
    ],
    database: Database = None,
) -> None:
    """Add an operator of the console; an administrator's TOTP secret is shown once, on the
    last two lines (the address for an authenticator app, then the secret alone)."""
    me = command_actor()
    made, enrolment = _on_database(
        _settings(database),
        lambda db: operators.add_operator(login, password, role, db, utc_now, actor=me),
    )
    typer.echo(f"operator {made.login} ({made.role.value}) added")
    if enrolment is not None:
        _said_enrolment(made.login, enrolment)


def _said_enrolment(login: str, enrolment: operators.Enrolment) -> None:
    typer.echo(
        f"{login} signs in with a one-time code: give this address (or the secret) to an "
        "authenticator app; shown once:"
    )
    typer.echo(enrolment.uri)
    typer.echo(enrolment.secret)


@operator_app.command("list")
def operator_list(database: Database = None) -> None:
    """The operators (never their secrets)."""
    staff = _on_database(_settings(database), operators.list_operators)
    typer.echo(f"{'LOGIN':<24} {'ROLE':<9} {'ADDED':<17} STATE")
    for made in staff:
        state = f"disabled {made.disabled_at:%Y-%m-%d %H:%M}" if made.disabled_at else "active"
        typer.echo(
            f"{made.login:<24} {made.role.value:<9} {made.created_at:%Y-%m-%d %H:%M} {state}"
        )


@operator_app.command("disable")
def operator_disable(login: OperatorLogin, database: Database = None) -> None:
    """Stop the operator signing in; its sessions end at once."""
    _on_database(
        _settings(database),
        lambda db: operators.disable_operator(login, db, utc_now, actor=command_actor()),
    )
    typer.echo(f"operator {login} disabled: its sessions ended")


@operator_app.command("enable")
def operator_enable(login: OperatorLogin, database: Database = None) -> None:
    """Let a disabled operator sign in again."""
    _on_database(
        _settings(database),
        lambda db: operators.enable_operator(login, db, utc_now, actor=command_actor()),
    )
    typer.echo(f"operator {login} enabled")


@operator_app.command("reset-totp")
def operator_reset_totp(login: OperatorLogin, database: Database = None) -> None:
    """A new TOTP secret for an administrator (the old one signs in no more, its sessions
    end), shown once on the last two lines."""
    enrolment = _on_database(
        _settings(database),
        lambda db: operators.reset_totp(login, db, utc_now, actor=command_actor()),
    )
    typer.echo(f"operator {login}: a new one-time code secret")
    _said_enrolment(login, enrolment)


@rate_app.command("set")
def rate_set(
    source: Annotated[str, typer.Argument(help="From currency, e.g. USD.")],
    target: Annotated[str, typer.Argument(help="To currency, e.g. RUB.")],
    rate: Annotated[str, typer.Argument(help="Units of TO for one unit of FROM, e.g. 92.5.")],
    database: Database = None,
) -> None:
    """Set the rate from now on (earlier rates stay in the history)."""

    me = command_actor()
    _on_database(
        _settings(database), lambda db: set_rate(SetRate(source, target, rate), db, actor=me)
    )
    typer.echo(f"1 {source.upper()} = {rate} {target.upper()}")


@rate_app.command("list")
def rate_list(database: Database = None) -> None:
    """The rates and their history."""

    for r in _on_database(_settings(database), rate_history):
        typer.echo(f"{r.valid_from:%Y-%m-%d %H:%M:%S}  1 {r.source} = {r.value} {r.target}")


points_app = typer.Typer(help="Bonus points paid through IPS.", no_args_is_help=True)
app.add_typer(points_app, name="points")


@points_app.command("report")
def points_report(
    day: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The UTC day YYYY-MM-DD (default: yesterday)."),
    ] = None,
    database: Database = None,
) -> None:
    """Report a day's points operations to the points program, merchant by merchant, and
    keep the differences it answers (exits 1 when there are any, or it does not answer)."""
    settings = _settings(database)
    reported = day.date() if day is not None else utc_now().date() - timedelta(days=1)

    async def run() -> ReportResult:
        async with running(settings, workers=False) as runtime:
            return await report_points(reported, runtime.services.gateway, actor=command_actor())

    try:
        result = asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    _said_points(result)
    if not result.agreed:
        raise typer.Exit(1)


def _said_points(result: ReportResult) -> None:
    if not result.merchants:
        typer.echo(f"no points operations on {result.day.isoformat()}")
    for report in result.merchants:
        merchant, count = report.merchant_id, report.operations
        reported = f"{merchant}: {count} operation{'' if count == 1 else 's'} reported"
        if report.differences is None:
            typer.echo(f"{reported}, the points program did not answer")
            typer.echo(f"error: the points program did not answer for {merchant}", err=True)
        elif not report.differences:
            typer.echo(f"{reported}, no differences")
        else:
            many = len(report.differences)
            typer.echo(f"{reported}, {many} difference{'' if many == 1 else 's'}:")
            for d in report.differences:
                ips, program = _points_or_none(d.ips_points), _points_or_none(d.program_points)
                typer.echo(
                    f"{merchant}: {d.kind.value} {d.reference}: IPS {ips}, program {program}"
                )


def _points_or_none(points: int | None) -> str:
    return "none" if points is None else f"{points} points"
