"""IPS reading a bank's settlement report (``ips.processing.bank_report``): taken whole, or
refused saying why."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from ips.domain.reconciliation import Figures
from ips.processing.bank_report import ReportRefused, read_report

LINE = {
    "terminal": "IPS00001",
    "rrn": "000000000001",
    "currency": "RUB",
    "amount": 100_00,
    "released": 30_00,
    "captured": 70_00,
    "credited": 0,
}
REPORT: dict[str, Any] = {
    "bank": "BANK-A",
    "acquirer_id": "10000000001",
    "day": "2025-01-31",
    "made_at": "2025-02-01T00:00:05+00:00",
    "authorizations": [LINE],
}


def test_a_report_is_read_into_figures_by_terminal_and_rrn() -> None:
    report = read_report(json.dumps(REPORT), "10000000001")

    assert (report.bank, report.acquirer_id, report.day) == (
        "BANK-A",
        "10000000001",
        date(2025, 1, 31),
    )
    assert report.figures == {("IPS00001", "000000000001"): Figures("RUB", 100_00, 30_00, 70_00, 0)}
    assert read_report(json.dumps(REPORT | {"day": None}), "10000000001").day is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "the report is not JSON"),
        ("[]", "not a JSON object"),
        (json.dumps(REPORT | {"acquirer_id": "20000000002"}), "for acquirer id 20000000002, not"),
        (json.dumps({k: v for k, v in REPORT.items() if k != "bank"}), "has no bank"),
        (json.dumps(REPORT | {"authorizations": {}}), "authorizations are not a list"),
        (json.dumps(REPORT | {"authorizations": [LINE, LINE]}), "authorization 2 .* twice"),
        (json.dumps(REPORT | {"authorizations": [LINE | {"amount": -1}]}), "amount is not"),
        (json.dumps(REPORT | {"authorizations": [LINE | {"captured": 1.5}]}), "captured is"),
        (json.dumps(REPORT | {"authorizations": [LINE | {"credited": True}]}), "credited is"),
        (json.dumps(REPORT | {"authorizations": [LINE | {"currency": "XYZ"}]}), "ISO 4217"),
        (json.dumps(REPORT | {"authorizations": [LINE | {"rrn": ""}]}), "has no rrn"),
        (json.dumps(REPORT | {"authorizations": ["x"]}), "not a JSON object"),
        (json.dumps(REPORT | {"day": "31.01.2025"}), "day is not a date"),
        (json.dumps(REPORT | {"made_at": "yesterday"}), "made_at is not"),
    ],
)
def test_a_report_that_cannot_be_taken_whole_is_refused(text: str, why: str) -> None:
    with pytest.raises(ReportRefused, match=why):
        read_report(text, "10000000001")
