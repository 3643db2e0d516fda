"""A bank's settlement report, as IPS reads it: what the processing center booked for each
authorization of one acquirer, the source of ``ips reconcile``.

IPS never reads a bank's storage. The bank hands in its report — a file the operator was
given, or the answer of its HTTP side (``GET BASE/report?acquirer_id=ID``) — as JSON::

    {"bank": "BANK-A", "acquirer_id": "10000000001", "day": "2025-01-31" or null,
     "made_at": "2025-02-01T00:00:05+00:00",
     "authorizations": [{"terminal": "IPS00001", "rrn": "000000000001", "currency": "RUB",
                         "amount": 10000, "released": 0, "captured": 10000, "credited": 0}]}

Amounts are whole minor units, never negative. ``read_report`` takes it only whole: a report
that does not parse, lacks a field, names an authorization twice or belongs to another
acquirer than the one expected raises ``ReportRefused`` saying why, and nothing of it is used.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from ips.domain.errors import UnknownCurrency
from ips.domain.money import currency
from ips.domain.reconciliation import Authorization, Figures

FIGURES = ("amount", "released", "captured", "credited")


class ReportRefused(Exception):
    """A report IPS does not take; the text says why (never a card number: a report has none)."""


@dataclass(frozen=True)
class BankReport:
    bank: str
    acquirer_id: str
    day: date | None
    """The day of the authorizations it lists; ``None``: every one."""
    made_at: datetime
    figures: dict[Authorization, Figures]
    """What the bank booked, by (terminal id, RRN)."""


def read_report(text: str | bytes, acquirer_id: str) -> BankReport:
    """The report in ``text``, which must be ``acquirer_id``'s."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ReportRefused("the report is not JSON") from None
    if not isinstance(data, dict):
        raise ReportRefused("the report is not a JSON object")
    bank, acquirer = _text(data, "bank"), _text(data, "acquirer_id")
    if acquirer != acquirer_id:
        raise ReportRefused(
            f"the report is for acquirer id {acquirer}, not {acquirer_id} (IPS_ACQUIRER_ID)"
        )
    lines = data.get("authorizations")
    if not isinstance(lines, list):
        raise ReportRefused("the report's authorizations are not a list")
    figures: dict[Authorization, Figures] = {}
    for number, line in enumerate(lines, 1):
        key, found = _line(line, number)
        if key in figures:
            raise ReportRefused(f"authorization {number} of the report is listed twice")
        figures[key] = found
    return BankReport(bank, acquirer, _day(data.get("day")), _moment(data), figures)


def fetch_report(url: str, acquirer_id: str, *, timeout: float = 30.0) -> bytes:
    """The report a bank's HTTP side answers at ``url`` (``acquirer_id`` added to its query
    when the URL names none). ``ReportRefused`` when none comes."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReportRefused(f"{url} is not an http(s) URL")
    query = urllib.parse.parse_qs(parts.query)
    if "acquirer_id" not in query:
        extra = urllib.parse.urlencode({"acquirer_id": acquirer_id})
        url = parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra).geturl()
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ReportRefused(f"the bank's report cannot be fetched: {type(exc).__name__}") from None
    if not response.is_success:
        raise ReportRefused(f"the bank answered HTTP {response.status_code}: {response.text[:200]}")
    return response.content


def report_url(base_url: str) -> str:
    """Where a processing center's HTTP side serves its report."""
    return base_url.rstrip("/") + "/report"


def _line(line: object, number: int) -> tuple[Authorization, Figures]:
    where = f"authorization {number} of the report"
    if not isinstance(line, dict):
        raise ReportRefused(f"{where} is not a JSON object")
    terminal, rrn, code = (_text(line, name, where) for name in ("terminal", "rrn", "currency"))
    try:
        currency(code)
    except UnknownCurrency:
        raise ReportRefused(f"{where} is in {code!r}, not an ISO 4217 currency") from None
    amounts = []
    for name in FIGURES:
        value = line.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReportRefused(f"{where}: {name} is not a whole number of minor units")
        amounts.append(value)
    return (terminal, rrn), Figures(code, *amounts)


def _text(data: dict[str, object], name: str, where: str = "the report") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ReportRefused(f"{where} has no {name}")
    return value


def _day(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise ReportRefused("the report's day is not a date as YYYY-MM-DD")


def _moment(data: dict[str, object]) -> datetime:
    try:
        return datetime.fromisoformat(_text(data, "made_at"))
    except ValueError:
        raise ReportRefused("the report's made_at is not an ISO 8601 time") from None
