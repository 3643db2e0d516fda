"""``python -m demobank``: a simulated bank as a process of its own, and its report.

Serving (``ips processing-center`` runs the same)::

    python -m demobank [--name BANK] [--host H] [--port P] [--http-port P] [--store FILE]
        [--acquirer-id ID] [--no-double-stage] [--no-stored-card-double-stage]
        [--currencies RUB,USD]

Once it listens it prints ``listening on HOST:PORT`` (ISO 8583) and then ``http on URL`` (the
ACS, the wallet, the points program and the report), each on a line of its own. SIGTERM and
SIGINT stop it cleanly. Several banks run side by side, each with its own store, ports and
rules (``rules``).

The report a bank hands the operator (``report``), written to standard output as JSON::

    python -m demobank report --store FILE --acquirer-id ID [--day YYYY-MM-DD] [--name BANK]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from demobank.ledger import Ledger
from demobank.report import report_day, settlement_report
from demobank.rules import Rules, currency_list
from demobank.server import Simulator, run
from paywire.messages import acquirer

T = TypeVar("T")


def _announce(simulator: Simulator) -> None:
    print(f"listening on {simulator.host}:{simulator.port}", flush=True)
    print(f"http on {simulator.http_url}", flush=True)


async def _serve(host: str, port: int, http_port: int, store: Path, rules: Rules) -> None:
    serving = asyncio.create_task(
        run(host, port, store, http_port=http_port, on_ready=_announce, rules=rules)
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, serving.cancel)
    try:
        await serving
    except asyncio.CancelledError:
        if not serving.cancelled():
            raise


async def _report(store: Path, rules: Rules, acquirer_id: str, day: date | None) -> None:
    async with await Ledger.open(store) as ledger:
        report = await settlement_report(ledger, rules, acquirer_id, day)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


def _argument(read: Callable[[str], T]) -> Callable[[str], T]:
    """``read`` as argparse takes it: its ``ValueError`` says what is wrong with the flag."""

    def reading(text: str) -> T:
        try:
            return read(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return reading


def _name(text: str) -> str:
    return Rules(name=text).name


def parser() -> argparse.ArgumentParser:
    acquirer_id = _argument(acquirer)
    found = argparse.ArgumentParser(prog="python -m demobank", description=__doc__.split("\n")[0])
    found.add_argument(
        "--name", type=_argument(_name), default="DEMOBANK", help="The bank's name, in its report."
    )
    found.add_argument("--host", default="127.0.0.1")
    found.add_argument("--port", type=int, default=8583, help="TCP port for ISO 8583.")
    found.add_argument("--http-port", type=int, default=8584, help="HTTP port of its pages.")
    found.add_argument("--store", type=Path, default=Path("processing-center.sqlite3"))
    found.add_argument(
        "--acquirer-id",
        type=acquirer_id,
        help="The acquiring institution id it issued: messages naming another (field 32) are"
        " refused. Without it, any.",
    )
    found.add_argument(
        "--no-double-stage",
        dest="double_stage",
        action="store_false",
        help="Refuse pre-authorizations (double-stage payments).",
    )
    found.add_argument(
        "--no-stored-card-double-stage",
        dest="stored_card_double_stage",
        action="store_false",
        help="Refuse pre-authorizations of a stored card.",
    )
    found.add_argument(
        "--currencies",
        type=_argument(currency_list),
        default=None,
        help="The currencies it takes, comma-separated (RUB,USD); without it, all.",
    )
    commands = found.add_subparsers(dest="command")
    report = commands.add_parser("report", help="Write the settlement report (JSON) to stdout.")
    report.add_argument("--store", type=Path, required=True, dest="report_store")
    report.add_argument("--acquirer-id", type=acquirer_id, required=True, dest="report_acquirer")
    report.add_argument(
        "--day", type=_argument(report_day), help="Only the authorizations held that day (UTC)."
    )
    report.add_argument(
        "--name", type=_argument(_name), dest="report_name", help="The bank's name in the report."
    )
    return found


def main(argv: list[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    if arguments.command == "report":
        if not arguments.report_store.is_file():
            sys.exit(f"error: {arguments.report_store} is not a bank's store")
        rules = Rules(name=arguments.report_name or arguments.name)
        asyncio.run(
            _report(arguments.report_store, rules, arguments.report_acquirer, arguments.day)
        )
        return
    rules = Rules(
        name=arguments.name,
        acquirer_id=arguments.acquirer_id,
        double_stage=arguments.double_stage,
        stored_card_double_stage=arguments.stored_card_double_stage,
        currencies=arguments.currencies,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_serve(arguments.host, arguments.port, arguments.http_port, arguments.store, rules))


if __name__ == "__main__":
    main()
