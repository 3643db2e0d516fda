"""The pure ISO 8583 mapping of settlement: 0220/0221 advices and the 0500 reconciliation,
both from IPS's side (``messages``) and from the simulator's (``protocol``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from demobank import PostingKind, protocol
from demobank.money import Money as BankMoney
from ips.domain.cards import Pan
from ips.domain.money import Money, currency
from ips.domain.responses import ResponseCode
from ips.processing.iso8583 import messages
from ips.processing.port import BatchTotals, FinancialAdvice, MessageId
from paywire import messages as wire
from paywire import spec
from paywire.messages import MalformedMessage

MOSCOW = timezone(timedelta(hours=3))
RUB = currency("RUB")
AUTHORIZED = MessageId(stan=42, rrn="506512000042", transmitted_at=datetime(2025, 3, 6, tzinfo=UTC))


def advice(*, credit: bool = False, repeat: bool = False, minor: int = 40_00) -> FinancialAdvice:
    return FinancialAdvice(
        id=MessageId(
            stan=77,
            rrn="506612000077",
            transmitted_at=datetime(2025, 3, 7, 1, 2, 3, tzinfo=MOSCOW),
        ),
        original=AUTHORIZED,
        batch=12,
        pan=Pan.parse("4111111111111111"),
        amount=Money(minor, RUB),
        credit=credit,
        merchant_id="100500",
        repeat=repeat,
    )


def totals(**changes: int) -> BatchTotals:
    figures = {"debits": 3, "debit_total": 320_75, "credits": 1, "credit_total": 25_50}
    return BatchTotals(
        id=MessageId(stan=78, rrn="", transmitted_at=datetime(2025, 3, 7, 23, 0, tzinfo=UTC)),
        batch=12,
        currency=RUB,
        **(figures | changes),
    )


def round_trip(fields: spec.Fields) -> spec.Fields:
    decoded = spec.decode(spec.encode(fields))
    del decoded["p"]
    decoded.pop("1", None)
    return decoded


def test_a_debit_advice_names_the_authorization_and_the_batch() -> None:
    fields = messages.advice_fields(advice(), terminal_id="IPS001", acquirer_id="123456")

    assert round_trip(fields) == fields
    assert fields == {
        "t": "0220",
        "2": "4111111111111111",
        "3": "000000",
        "4": "000000004000",
        "7": "0306220203",
        "11": "000077",
        "12": "220203",
        "13": "0306",
        "32": "123456",
        "37": "506512000042",
        "41": "IPS001  ",
        "42": "100500         ",
        "49": "643",
        "60": "000012",
    }


@pytest.mark.parametrize(("credit", "code"), [(False, "000000"), (True, "200000")])
@pytest.mark.parametrize(("repeat", "mti"), [(False, "0220"), (True, "0221")])
def test_processing_code_and_mti(credit: bool, code: str, repeat: bool, mti: str) -> None:
    fields = messages.advice_fields(
        advice(credit=credit, repeat=repeat), terminal_id="T", acquirer_id="1"
    )

    assert (fields["t"], fields["3"]) == (mti, code)


def test_the_reconciliation_carries_counts_and_totals() -> None:
    fields = messages.reconciliation_fields(totals(), terminal_id="IPS001", acquirer_id="123456")

    assert round_trip(fields) == fields
    assert fields == {
        "t": "0500",
        "7": "0307230000",
        "11": "000078",
        "32": "123456",
        "41": "IPS001  ",
        "50": "643",
        "60": "000012",
        "74": "0000000001",
        "76": "0000000003",
        "86": "0000000000002550",
        "88": "0000000000032075",
    }


def test_the_largest_figures_fit() -> None:
    fields = messages.reconciliation_fields(
        replace(
            totals(debits=10**10 - 1, debit_total=10**16 - 1, credits=0, credit_total=0),
            batch=999_999,
        ),
        terminal_id="T",
        acquirer_id="1",
    )

    assert round_trip(fields) == fields
    assert (fields["60"], fields["76"], fields["88"], fields["86"]) == (
        "999999",
        "9999999999",
        "9999999999999999",
        "0000000000000000",
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (replace(totals(), batch=1_000_000), "batch number"),
        (replace(totals(), batch=-1), "batch number"),
        (totals(debits=10**10), "number of debits"),
        (totals(credits=-1), "number of credits"),
        (totals(debit_total=10**16), "total of debits"),
        (totals(credit_total=-1), "total of credits"),
    ],
)
def test_figures_that_do_not_fit_are_refused_before_sending(bad: BatchTotals, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        messages.reconciliation_fields(bad, terminal_id="T", acquirer_id="1")


def test_an_advice_that_does_not_fit_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="batch number"):
        messages.advice_fields(replace(advice(), batch=10**6), terminal_id="T", acquirer_id="1")
    with pytest.raises(ValueError, match="12 digits"):
        messages.advice_fields(advice(minor=10**12), terminal_id="T", acquirer_id="1")
    with pytest.raises(ValueError, match="RRN"):
        messages.advice_fields(
            replace(advice(), original=replace(AUTHORIZED, rrn="1234567890123")),
            terminal_id="T",
            acquirer_id="1",
        )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("00", ResponseCode.SUCCESS),
        ("95", ResponseCode.RECEPTION_ERROR),
        ("13", ResponseCode.DECLINED),
        ("12", ResponseCode.DECLINED),
        ("25", ResponseCode.NO_SUCH_PAYMENT),
        ("94", ResponseCode.REPEAT_AUTHORIZATION),
    ],
)
def test_settlement_answers(raw: str, code: ResponseCode) -> None:
    for mti in ("0230", "0510"):
        answer = messages.answer_from_fields({"t": mti, "11": "000078", "39": raw})
        assert (answer.code, answer.raw_code, answer.approval_code) == (code, raw, "")


def test_an_answer_must_echo_the_batch_and_its_figures() -> None:
    request = messages.reconciliation_fields(totals(), terminal_id="T", acquirer_id="1")
    answer = protocol.reply(request, "00", protocol.RECONCILIATION_ECHO)

    assert wire.answers(request, answer)
    for key in ("41", "50", "60", "74", "76", "86", "88"):
        changed = answer | {key: "9" * len(answer[key])}
        assert not wire.answers(request, changed), key


def test_an_advice_answer_must_echo_kind_amount_authorization_and_batch() -> None:
    request = messages.advice_fields(advice(), terminal_id="T", acquirer_id="1")
    answer = protocol.reply(request, "00", protocol.ADVICE_ECHO)

    assert wire.answers(request, answer)
    assert not wire.answers(request, answer | {"3": "200000"})
    assert not wire.answers(request, answer | {"4": "000000004001"})
    assert not wire.answers(request, answer | {"37": "506512000043"})
    assert not wire.answers(request, answer | {"60": "000013"})
    assert not wire.answers(request, answer | {"t": "0210"})


def test_the_simulator_reads_what_ips_sends() -> None:
    debit = protocol.parse_advice(
        messages.advice_fields(advice(), terminal_id="IPS001", acquirer_id="1")
    )
    credit = protocol.parse_advice(
        messages.advice_fields(advice(credit=True, repeat=True), terminal_id="T", acquirer_id="1")
    )
    close = protocol.parse_reconciliation(
        messages.reconciliation_fields(totals(), terminal_id="IPS001", acquirer_id="1")
    )

    assert debit == protocol.AdviceMessage(
        pan="4111111111111111",
        amount=BankMoney(40_00, RUB),
        kind=PostingKind.DEBIT,
        stan="000077",
        transmitted="0306220203",
        rrn="506512000042",
        terminal_id="IPS001",
        merchant_id="100500",
        batch=12,
    )
    assert credit.kind is PostingKind.CREDIT
    assert close == protocol.ReconciliationMessage(
        terminal_id="IPS001",
        batch=12,
        currency=RUB,
        debits=3,
        debit_total=320_75,
        credits=1,
        credit_total=25_50,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"3": "300000"}, "field 3"),
        ({"4": "000000000000"}, "field 4"),
        ({"49": "999"}, "field 49"),
        ({"60": "12"}, "field 60"),
        ({"60": "00001A"}, "field 60"),
        ({"37": "            "}, "field 37"),
    ],
)
def test_unusable_advices_are_malformed(change: spec.Fields, reason: str) -> None:
    fields = messages.advice_fields(advice(), terminal_id="T", acquirer_id="1") | change

    with pytest.raises(MalformedMessage, match=reason):
        protocol.parse_advice(fields)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"50": "000"}, "field 50"),
        ({"76": "00000000x1"}, "field 76"),
        ({"41": "  "}, "field 41"),
        ({"88": ""}, "field 88"),
    ],
)
def test_unusable_reconciliations_are_malformed(change: spec.Fields, reason: str) -> None:
    fields = messages.reconciliation_fields(totals(), terminal_id="T", acquirer_id="1") | change

    with pytest.raises(MalformedMessage, match=reason):
        protocol.parse_reconciliation(fields)


def test_an_advice_is_logged_without_its_card_number() -> None:
    shown = wire.masked(messages.advice_fields(advice(), terminal_id="T", acquirer_id="1"))

    assert shown["2"] == "411111****1111"
    assert "4111111111111111" not in repr(shown)
