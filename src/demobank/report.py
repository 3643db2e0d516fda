"""The bank's settlement report: what it booked for each authorization of an acquirer, the
figures an acquirer reconciles its own books with.

As JSON (``GET /report?acquirer_id=ID[&day=YYYY-MM-DD]`` on the HTTP side, or
``python -m demobank report``)::

    {"bank": "BANK-A", "acquirer_id": "10000000001", "day": "2025-01-31" or null,
     "made_at": "2025-02-01T00:00:05+00:00",
     "authorizations": [{"terminal": "IPS00001", "rrn": "000000000001", "currency": "RUB",
                         "amount": 10000, "released": 0, "captured": 10000, "credited": 0}]}

Amounts are minor units: ``amount`` held, ``released`` by reversals, ``captured`` by posted
debits, ``credited`` by posted credits (refunds): advices staged in a batch not yet accepted
count only once it is. ``day`` limits the report to the
authorizations held that day (UTC). A bank that issued an acquirer id reports for that one
only (``OtherAcquirer``); one without reports every authorization under the id asked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demobank import webio
from demobank.ledger import Ledger, PostingKind
from demobank.rules import Rules
from paywire.messages import acquirer


class OtherAcquirer(Exception):
    """The bank issued another acquirer id than the one the report is asked for."""


async def settlement_report(
    ledger: Ledger, rules: Rules, acquirer_id: str, day: date | None = None
) -> dict[str, Any]:
    if rules.acquirer_id is not None and acquirer_id != rules.acquirer_id:
        raise OtherAcquirer(f"{rules.name} issued acquirer id {rules.acquirer_id} only")
    made_at = datetime.now(UTC)
    credited: dict[tuple[str, str], int] = defaultdict(int)
    for posting in await ledger.postings():
        if posting.kind is PostingKind.CREDIT:
            credited[posting.terminal_id, posting.rrn] += posting.amount.minor
    lines = [
        {
            "terminal": hold.terminal_id,
            "rrn": hold.rrn,
            "currency": hold.amount.currency.code,
            "amount": hold.amount.minor,
            "released": hold.released.minor,
            "captured": hold.captured.minor,
            "credited": credited[hold.terminal_id, hold.rrn],
        }
        for hold in await ledger.holds()
        if day is None or hold.created_at.astimezone(UTC).date() == day
    ]
    return {
        "bank": rules.name,
        "acquirer_id": acquirer_id,
        "day": None if day is None else day.isoformat(),
        "made_at": made_at.isoformat(),
        "authorizations": lines,
    }


def report_day(text: str) -> date:
    """``YYYY-MM-DD``; ``ValueError`` for anything else."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a day as YYYY-MM-DD")


class ReportSite:
    """``GET /report``: the settlement report of the bank's books."""

    def __init__(self, ledger: Ledger, rules: Rules) -> None:
        self._ledger = ledger
        self._rules = rules

    @property
    def routes(self) -> list[Route]:
        return [Route("/report", self._report, methods=["GET"])]

    async def _report(self, request: Request) -> Response:
        try:
            acquirer_id = acquirer(request.query_params.get("acquirer_id", ""))
        except ValueError:
            raise webio.Refused(400, "acquirer_id is 1 to 11 digits") from None
        day = None
        if "day" in request.query_params:
            try:
                day = report_day(request.query_params["day"])
            except ValueError:
                raise webio.Refused(400, "day is a date as YYYY-MM-DD") from None
        try:
            report = await settlement_report(self._ledger, self._rules, acquirer_id, day)
        except OtherAcquirer as exc:
            raise webio.Refused(404, str(exc)) from None
        return webio.answer(report)
