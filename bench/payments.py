"""Complete card payments end to end, as buyers and their shop make them, against IPS and
the processing-center simulator running as processes of their own:

    .venv/bin/python -m bench.payments --database postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.payments --database sqlite
    .venv/bin/python -m bench.payments --database sqlite --embedded

Each buyer pays the whole way, one payment after another: the payment request
(``order.cfm``), the card page, the card form (the ISO 8583 authorization inside), and the
shop's ``orderstate.cfm``. For each number of buyers (``--buyers``, run one after another for
``--seconds`` each) it prints payments per second, the latency of each step, the errors, the
CPU milliseconds each process spent per payment (IPS, the PostgreSQL backends, the
simulator, this driver) and, on PostgreSQL, the commits and rollbacks per payment. ``pgbench``
runs a payment-like write transaction against the same server for the
ceiling.

``--embedded`` runs ``ips serve`` as the README's first command does, without
``--processing``: it starts the simulator itself, and its CPU is the simulator's when it runs
as a process of its own (else it is counted in IPS's).

A PostgreSQL URL names the server: the benchmark makes a database of its own on it
(``ips_bench_payments``, dropped and made again at each run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from tests.processes import free_port, wait_for_port

MERCHANT = {"id": "111111", "login": "shop", "password": "shop-password"}
STEPS = ("order.cfm", "card page", "card form", "orderstate")
BENCH_DATABASE = "ips_bench_payments"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes and their CPU ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU of the process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """The process and every process under it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def postgres_backends() -> list[int]:
    """The PostgreSQL server's processes (its backends and helpers) on this machine."""
    listed = subprocess.run(
        ["ps", "-C", "postgres", "-o", "pid="], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in listed.stdout.split()]


def simulators(pid: int) -> list[int]:
    """The processes under ``pid`` that run the simulator (the one ``ips serve`` starts)."""
    found = []
    for child in descendants(pid)[1:]:
        with contextlib.suppress(OSError):
            if b"demobank" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


@dataclass
class CpuMeter:
    """CPU seconds of named groups of processes, from one reading to the next."""

    groups: dict[str, list[int] | None]
    """Fixed pids (each with the processes under it), or ``None`` for the PostgreSQL
    server's processes, read anew each time."""
    apart: list[int] = field(default_factory=list)
    """Processes counted in no group, though under one of their pids."""
    start: dict[str, dict[int, float]] = field(default_factory=dict)

    def _read(self) -> dict[str, dict[int, float]]:
        reading = {}
        for name, pids in self.groups.items():
            if name == "driver":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                reading[name] = {0: usage.ru_utime + usage.ru_stime}
                continue
            alive = pids if pids is not None else postgres_backends()
            reading[name] = {
                pid: cpu_seconds(pid)
                for root in alive
                for pid in descendants(root)
                if pid not in self.apart or pid == root
            }
        return reading

    def begin(self) -> None:
        self.start = self._read()

    def spent(self) -> dict[str, float]:
        end = self._read()
        return {
            name: sum(end[name].values())
            - sum(s for pid, s in self.start.get(name, {}).items() if pid in end[name])
            for name in self.groups
        }


# --- the installation -------------------------------------------------------------------------


@dataclass
class Installation:
    """``ips processing-center`` and ``ips serve`` on a fresh database, and the shop; or
    ``ips serve`` alone, starting the simulator itself (``simulator`` is then ``None``)."""

    url: str
    database_url: str
    serve: subprocess.Popen[bytes]
    simulator: subprocess.Popen[bytes] | None
    workdir: Path

    @property
    def postgres_dsn(self) -> str | None:
        if not self.database_url.startswith("postgresql"):
            return None
        return make_url(self.database_url).set(drivername="postgresql").render_as_string(False)


def ips(*args: str, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ips", *args], cwd=cwd, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"ips {' '.join(args[:2])} failed:\n{done.stderr}")


async def fresh_database(server_url: str, *, logged: bool = False) -> str:
    """The database ``BENCH_DATABASE`` on the PostgreSQL server, made anew; ``logged``: every
    statement on it goes to the server's log."""
    url = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        if logged:
            await admin.execute(f"ALTER DATABASE \"{BENCH_DATABASE}\" SET log_statement = 'all'")
    finally:
        await admin.close()
    return url.set(database=BENCH_DATABASE).render_as_string(False)


@contextlib.contextmanager
def installed(
    database_url: str, serve_args: list[str], *, embedded: bool = False
) -> Iterator[Installation]:
    workdir = Path(tempfile.mkdtemp(prefix="ips-bench-"))
    store = workdir / "processing-center.sqlite3"
    env = {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_KEY_FILE": str(workdir / "ips.key"),
        "IPS_SIMULATOR_STORE": str(store),
        "IPS_CREDENTIAL_CACHE_SECONDS": os.environ.get("IPS_CREDENTIAL_CACHE_SECONDS", "300"),
    }
    iso, http, port = free_port(), free_port(), free_port()
    simulator, processing = None, []
    if not embedded:
        log = (workdir / "simulator.log").open("wb")
        simulator = subprocess.Popen(
            [sys.executable, "-m", "ips", "processing-center", "--port", str(iso),
             "--http-port", str(http), "--store", str(store)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processing = ["--processing", f"127.0.0.1:{iso}",
                      "--processing-http", f"http://127.0.0.1:{http}"]  # fmt: skip
    serve = None
    try:
        if simulator is not None:
            wait_for_port(iso, simulator, lambda: (workdir / "simulator.log").read_text())
        ips(
            "merchant", "add", "--merchant-id", MERCHANT["id"], "--name", "Bench Shop",
            "--login", MERCHANT["login"], "--password", MERCHANT["password"],
            "--secret-word", "secret", "--return-host", "shop.example", "--means", "card",
            cwd=workdir, env=env,
        )  # fmt: skip
        served = (workdir / "serve.log").open("wb")
        serve = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", "--port", str(port), *processing, *serve_args],
            cwd=workdir, env=env, stdout=served, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(port, serve, lambda: (workdir / "serve.log").read_text(), seconds=60)
        yield Installation(f"http://127.0.0.1:{port}", database_url, serve, simulator, workdir)
    finally:
        for process in (serve, simulator):
            if process is not None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


# --- the buyers --------------------------------------------------------------------------------


@dataclass
class Tally:
    payments: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    whole: list[float] = field(default_factory=list)


TOKEN = re.compile(r'name="token" value="([^"]+)"')
CARD = {"card_number": "4111111111111111", "exp_month": "12", "exp_year": "2030",
        "cvc": "123", "cardholder": "BENCH BUYER"}  # fmt: skip


async def pay_once(http: httpx.AsyncClient, tally: Tally) -> None:
    """One payment the whole way; a step that fails ends it, counted under its name."""
    ordernumber = uuid.uuid4().hex[:20]
    times: dict[str, float] = {}

    async def step(name: str, call: object) -> httpx.Response:
        started = time.perf_counter()
        answer: httpx.Response = await call  # type: ignore[misc]
        times[name] = time.perf_counter() - started
        return answer

    began = time.perf_counter()
    made = await step("order.cfm", http.get("/pay/order.cfm", params={
        "Merchant_ID": MERCHANT["id"], "OrderNumber": ordernumber, "OrderAmount": "100.00",
        "OrderCurrency": "RUB", "URL_RETURN_OK": "https://shop.example/ok",
        "URL_RETURN_NO": "https://shop.example/no",
    }))  # fmt: skip
    if made.status_code != 303:
        tally.errors["order.cfm"] += 1
        return
    page = made.headers["location"]
    form = await step("card page", http.get(page))
    token = TOKEN.search(form.text)
    if form.status_code != 200 or token is None:
        tally.errors["card page"] += 1
        return
    sent = await step("card form", http.post(f"{page}/card", data=CARD | {"token": token[1]}))
    if sent.status_code != 303 or not sent.headers["location"].startswith(
        "https://shop.example/ok"
    ):
        tally.errors["card form"] += 1
        return
    state = await step("orderstate", http.post("/orderstate/orderstate.cfm", data={
        "Merchant_ID": MERCHANT["id"], "Login": MERCHANT["login"],
        "Password": MERCHANT["password"], "OrderNumber": ordernumber, "Format": "3",
    }))  # fmt: skip
    if "<orderstate>Approved</orderstate>" not in state.text:
        tally.errors["orderstate"] += 1
        return
    tally.whole.append(time.perf_counter() - began)
    tally.payments += 1
    for name, seconds in times.items():
        tally.latency[name].append(seconds)


async def buyer(base_url: str, until: float, tally: Tally) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        while time.monotonic() < until:
            try:
                await pay_once(http, tally)
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1


# --- PostgreSQL's own figures --------------------------------------------------------------------


async def transactions(dsn: str | None) -> tuple[int, int]:
    """Commits and rollbacks of the bench database so far."""
    if dsn is None:
        return 0, 0
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        row = await connection.fetchrow(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1",
            BENCH_DATABASE,
        )
    finally:
        await connection.close()
    assert row is not None
    return int(row["xact_commit"]), int(row["xact_rollback"])


PGBENCH_SCHEMA = """
DROP TABLE IF EXISTS bench_orders, bench_operations;
CREATE TABLE bench_orders (id bigint PRIMARY KEY, state text NOT NULL, held bigint NOT NULL);
CREATE TABLE bench_operations (id bigserial PRIMARY KEY, order_id bigint NOT NULL,
    amount bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO bench_orders SELECT g, 'In Process', 0 FROM generate_series(1, 100000) g;
"""
PGBENCH_SCRIPT = """\\set id random(1, 100000)
BEGIN;
SELECT state FROM bench_orders WHERE id = :id FOR UPDATE;
INSERT INTO bench_operations (order_id, amount, status, created_at)
    VALUES (:id, 10000, 'success', now());
UPDATE bench_orders SET state = 'Approved', held = held + 10000 WHERE id = :id;
SELECT count(*) FROM bench_operations WHERE order_id = :id;
COMMIT;
"""


def pgbench(dsn: str, clients: int, seconds: int) -> float:
    """Transactions per second of a payment-like write transaction (lock the order, add the
    operation, move the order, read back), ``clients`` at once."""
    subprocess.run(["psql", dsn, "-q", "-c", PGBENCH_SCHEMA], check=True, capture_output=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        ran = subprocess.run(
            ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
             "-f", script.name, dsn],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    subprocess.run(
        ["psql", dsn, "-q", "-c", "DROP TABLE bench_orders, bench_operations"], check=True
    )
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", ran.stdout)
    assert found is not None, ran.stdout
    return float(found.group(1))


# --- a run -------------------------------------------------------------------------------------


def ms(seconds: list[float], share: float) -> str:
    if not seconds:
        return "—"
    ordered = sorted(seconds)
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:.1f}"


def profiled(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (and its children) for ``seconds``, its stacks collapsed into
    ``output`` (one line a stack, with its count: what ``flamegraph.pl`` reads)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
         "--subprocesses", "--nonblocking", "--format", "raw", "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def measure(
    install: Installation, buyers: int, seconds: float, profile: Path | None = None
) -> None:
    simulator = [install.simulator.pid] if install.simulator else simulators(install.serve.pid)
    meter = CpuMeter(
        {
            "IPS": [install.serve.pid],
            "PostgreSQL": None if install.postgres_dsn else [],
            "simulator": simulator,
            "driver": [],
        },
        apart=simulator,
    )
    dsn = install.postgres_dsn
    tally = Tally()
    await asyncio.gather(
        *(buyer(install.url, time.monotonic() + 2, Tally()) for _ in range(buyers))
    )
    commits, rollbacks = await transactions(dsn)
    meter.begin()
    sampling = profile and profiled(install.serve.pid, seconds, profile / f"ips-{buyers}.txt")
    started = time.monotonic()
    await asyncio.gather(*(buyer(install.url, started + seconds, tally) for _ in range(buyers)))
    elapsed = time.monotonic() - started
    if sampling:
        sampling.wait()
    spent = meter.spent()
    commits_after, rollbacks_after = await transactions(dsn)
    paid = max(tally.payments, 1)
    print(f"\n{buyers} buyers, {elapsed:.1f} s: {tally.payments} payments, "
          f"{tally.payments / elapsed:.1f}/s, errors {dict(tally.errors) or 0}")  # fmt: skip
    print(f"  {'step':<12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name in (*STEPS, "payment"):
        times = tally.whole if name == "payment" else tally.latency[name]
        print(f"  {name:<12} {ms(times, 0.5):>8} {ms(times, 0.95):>8} {ms(times, 0.99):>8}")
    shares = ", ".join(f"{name} {cpu * 1000 / paid:.1f}" for name, cpu in spent.items())
    if not simulator:
        shares += " (the simulator's in IPS's)"
    print(f"  CPU ms per payment: {shares}")
    if dsn:
        print(f"  per payment: {(commits_after - commits) / paid:.1f} commits, "
              f"{(rollbacks_after - rollbacks) / paid:.1f} rollbacks")  # fmt: skip
    print(f"  load average {os.getloadavg()[0]:.1f}")


SERVER_LOG = Path("/var/log/postgresql")
STATEMENT = re.compile(r"@" + BENCH_DATABASE + r" LOG:  (?:statement|execute [^:]*): (\w+)")


def server_log() -> Path:
    """The PostgreSQL server's current log file (Debian's layout)."""
    logs = sorted(SERVER_LOG.glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise SystemExit(f"--trace reads the server's log in {SERVER_LOG}: none there")
    return logs[-1]


async def trace(install: Installation, payments: int) -> None:
    """One buyer pays ``payments`` times on a database whose statements the server logs (see
    ``--trace``); the statements of one payment, counted from the server's log."""
    log = server_log()
    start = log.stat().st_size
    tally = Tally()
    async with httpx.AsyncClient(base_url=install.url, timeout=60) as http:
        for _ in range(payments):
            await pay_once(http, tally)
    await asyncio.sleep(1)  # the log is written by the server's own process
    logged = log.read_bytes()[start:].decode(errors="replace")
    words = [m.group(1).upper() for m in STATEMENT.finditer(logged)]
    paid = max(tally.payments, 1)
    kinds = ", ".join(f"{word} {n / paid:.1f}" for word, n in Counter(words).most_common())
    print(f"traced: {tally.payments} payments, errors {dict(tally.errors) or 0}")
    print(f"per payment {len(words) / paid:.1f} statements: {kinds}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--buyers", default="1,8,32,64")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--profile", type=Path, help="a folder for py-spy's stacks of ips serve")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="PostgreSQL: instead of the run, N payments with every statement "
                        "logged, counted per payment (reads /var/log/postgresql)")  # fmt: skip
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="an argument for ips serve (repeatable)")  # fmt: skip
    parser.add_argument("--embedded", action="store_true",
                        help="no simulator process: ips serve starts its own, as in the "
                        "README's first command")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database == "sqlite":
            database_url = f"sqlite:///{folder}/ips.sqlite3"
        else:
            database_url = await fresh_database(args.database, logged=bool(args.trace))
        print(f"machine: {os.cpu_count()} cores; database {make_url(database_url).drivername}; "
              f"simulator {'started by ips serve' if args.embedded else 'a process'}; "
              f"ips serve {' '.join(args.serve_arg) or '(no arguments)'}; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        with installed(database_url, args.serve_arg, embedded=args.embedded) as install:
            if args.trace:
                await trace(install, args.trace)
                return
            for buyers in (int(n) for n in args.buyers.split(",")):
                await measure(install, buyers, args.seconds, args.profile)
        if install.postgres_dsn and args.pgbench_seconds:
            for clients in (1, 8):
                tps = pgbench(install.postgres_dsn, clients, args.pgbench_seconds)
                print(f"\npgbench, a payment-like write transaction, {clients} clients: "
                      f"{tps:,.0f} tps")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
