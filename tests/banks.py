"""A bank's figures as IPS reconciles with them: the settlement report the bank makes from
its own books (``demobank.report``), read as IPS reads a report handed in
(``ips.processing.bank_report``) — the same path as ``ips reconcile --report``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from demobank.ledger import Ledger
from demobank.report import settlement_report
from demobank.rules import ANY_RULES
from ips.config import Settings
from ips.domain.reconciliation import Authorization, Figures
from ips.processing.bank_report import read_report

ACQUIRER_ID = Settings.model_fields["acquirer_id"].default


async def bank_figures(store: Path, acquirer_id: str = ACQUIRER_ID) -> dict[Authorization, Figures]:
    """What the bank whose books are ``store`` reports for ``acquirer_id``."""
    async with await Ledger.open(store) as ledger:
        report = await settlement_report(ledger, ANY_RULES, acquirer_id)
    return read_report(json.dumps(report), acquirer_id).figures


def handed_in_report(store: Path, into: Path, acquirer_id: str = ACQUIRER_ID) -> Path:
    """The report the bank whose books are ``store`` hands the operator, written by the bank's
    own command (``python -m demobank report``) into the file ``into``."""
    made = subprocess.run(
        [sys.executable, "-m", "demobank", "report", "--store", str(store),
         "--acquirer-id", acquirer_id],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    into.write_text(made.stdout)
    return into
