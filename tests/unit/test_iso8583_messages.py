"""The pure ISO 8583 mapping: requests to fields, fields to answers, codec, frames, masking."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from demobank import protocol
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.domain.responses import ResponseCode
from ips.processing.iso8583 import messages
from ips.processing.port import AuthorizationRequest, MessageId, ReversalRequest
from paywire import framing, spec
from paywire import messages as wire
from paywire.messages import MalformedMessage, NetworkCode, OriginalData

MOSCOW = timezone(timedelta(hours=3))
SENT_AT = datetime(2025, 3, 7, 1, 2, 3, tzinfo=MOSCOW)
"""2025-03-06 22:02:03 UTC: the local date differs from the UTC one."""


def authorization(
    *, pan: str = "4111111111111111", minor: int = 12_345, cvc: str = "987"
) -> AuthorizationRequest:
    card = Card(Pan.parse(pan), Expiry(9, 2031), Secret(cvc), "IVAN PETROV")
    return AuthorizationRequest(
        id=MessageId(stan=42, rrn="506512000042", transmitted_at=SENT_AT),
        card=card,
        amount=Money(minor, currency("RUB")),
        merchant_id="100500",
    )


def reversal(*, repeat: bool = False) -> ReversalRequest:
    original = authorization()
    return ReversalRequest(
        id=MessageId(stan=43, rrn="506512000043", transmitted_at=datetime(2025, 3, 7, tzinfo=UTC)),
        original=original.id,
        pan=original.card.pan,
        amount=Money(2_000, currency("RUB")),
        merchant_id="100500",
        repeat=repeat,
    )


def round_trip(fields: spec.Fields) -> spec.Fields:
    decoded = spec.decode(spec.encode(fields))
    del decoded["p"]
    decoded.pop("1", None)
    return decoded


def test_authorization_fields_survive_the_codec() -> None:
    fields = messages.authorization_fields(
        authorization(), terminal_id="IPS001", acquirer_id="123456"
    )

    assert round_trip(fields) == fields
    assert fields == {
        "t": "0100",
        "2": "4111111111111111",
        "3": "000000",
        "4": "000000012345",
        "7": "0306220203",
        "11": "000042",
        "12": "220203",
        "13": "0306",
        "14": "3109",
        "22": "812",
        "32": "123456",
        "37": "506512000042",
        "41": "IPS001  ",
        "42": "100500         ",
        "48": "9203987",
        "49": "643",
    }


def test_the_cvc_is_subelement_92_of_field_48() -> None:
    fields = messages.authorization_fields(
        authorization(cvc="0123"), terminal_id="T", acquirer_id="1"
    )

    assert wire.parse_private_data(fields["48"]) == {"92": "0123"}


CAVV = "AAABBBCCCDDDEEEFFFGGGHHHIII="


def with_cavv(request: AuthorizationRequest, cavv: str) -> AuthorizationRequest:
    return dataclasses.replace(request, cavv=cavv)


def test_the_cavv_is_subelement_93_of_field_48_beside_the_cvc() -> None:
    fields = messages.authorization_fields(
        with_cavv(authorization(cvc="987"), CAVV), terminal_id="T", acquirer_id="1"
    )

    assert round_trip(fields) == fields
    assert fields["48"] == "9203987" + "9328" + CAVV
    assert wire.parse_private_data(fields["48"]) == {"92": "987", "93": CAVV}


def test_a_cavv_without_a_cvc_is_field_48_alone() -> None:
    request = with_cavv(authorization(), CAVV)
    stored = dataclasses.replace(
        request, card=dataclasses.replace(request.card, cvc=None), recurring=True
    )

    fields = messages.authorization_fields(stored, terminal_id="T", acquirer_id="1")

    assert wire.parse_private_data(fields["48"]) == {"93": CAVV}
    assert fields["22"] == wire.STORED_CARD_ENTRY


def test_no_cvc_and_no_cavv_leave_field_48_out() -> None:
    request = authorization()
    stored = dataclasses.replace(request, card=dataclasses.replace(request.card, cvc=None))

    assert "48" not in messages.authorization_fields(stored, terminal_id="T", acquirer_id="1")


def test_a_double_stage_hold_is_a_pre_authorization_in_field_25() -> None:
    single = authorization()
    double = dataclasses.replace(single, double_stage=True)

    assert "25" not in messages.authorization_fields(single, terminal_id="T", acquirer_id="1")
    fields = round_trip(messages.authorization_fields(double, terminal_id="T", acquirer_id="1"))
    assert fields["25"] == wire.PREAUTHORIZATION == "06"


@pytest.mark.parametrize(
    "cavv", ["x" * 100, "café", "two\nlines"], ids=["long", "non-ascii", "control"]
)
def test_a_cavv_that_does_not_fit_is_refused_before_sending(cavv: str) -> None:
    with pytest.raises(ValueError, match="subelement 93"):
        messages.authorization_fields(
            with_cavv(authorization(), cavv), terminal_id="T", acquirer_id="1"
        )


def test_the_simulator_reads_the_cavv_and_the_cvc() -> None:
    fields = messages.authorization_fields(
        with_cavv(authorization(), CAVV), terminal_id="T", acquirer_id="1"
    )

    parsed = protocol.parse_authorization(fields)

    assert (parsed.cvc, parsed.cavv) == ("987", CAVV)
    assert protocol.parse_authorization(fields | {"48": "93"}).cavv == ""
    plain = messages.authorization_fields(authorization(), terminal_id="T", acquirer_id="1")
    assert protocol.parse_authorization(plain).cavv == ""


def test_the_cavv_is_masked_in_logs() -> None:
    fields = messages.authorization_fields(
        with_cavv(authorization(), CAVV), terminal_id="T", acquirer_id="1"
    )

    shown = wire.masked(fields)

    assert shown["48"] == "***"
    assert CAVV not in repr(shown)


@pytest.mark.parametrize("repeat", [False, True])
def test_reversal_names_the_original_in_fields_37_and_90(repeat: bool) -> None:
    fields = messages.reversal_fields(
        reversal(repeat=repeat), terminal_id="IPS001", acquirer_id="123456"
    )

    assert round_trip(fields) == fields
    assert fields["t"] == ("0401" if repeat else "0400")
    assert fields["4"] == "000000002000"
    assert fields["7"] == "0307000000"
    assert fields["11"] == "000043"
    assert fields["37"] == "506512000042"
    assert fields["90"] == "0100" + "000042" + "0306220203" + "00000123456" + "00000000000"
    assert OriginalData.parse(fields["90"]) == OriginalData(
        "0100", "000042", "0306220203", "00000123456", "00000000000"
    )
    assert "48" not in fields


def test_a_naive_transmission_time_is_taken_as_utc() -> None:
    assert wire.transmission_time(datetime(2025, 12, 31, 23, 59, 58)) == "1231235958"


def test_network_message() -> None:
    fields = wire.network_fields(NetworkCode.ECHO, number=7, at=SENT_AT)

    assert round_trip(fields) == {"t": "0800", "7": "0306220203", "11": "000007", "70": "301"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("00", ResponseCode.SUCCESS),
        ("05", ResponseCode.DECLINED),
        ("14", ResponseCode.WRONG_CARD_DATA),
        ("82", ResponseCode.WRONG_CARD_DATA),
        ("N7", ResponseCode.WRONG_CARD_DATA),
        ("51", ResponseCode.INSUFFICIENT_FUNDS),
        ("54", ResponseCode.WRONG_EXPIRY),
        ("61", ResponseCode.CARD_LIMIT),
        ("30", ResponseCode.RECEPTION_ERROR),
        ("59", ResponseCode.SUSPECTED_FRAUD),
        ("65", ResponseCode.OPERATIONS_LIMIT),
        ("A3", ResponseCode.THREE_DS_REQUIRED),
        ("94", ResponseCode.REPEAT_AUTHORIZATION),
        ("25", ResponseCode.NO_SUCH_PAYMENT),
        ("91", ResponseCode.SYSTEM_ERROR),
        ("96", ResponseCode.SYSTEM_ERROR),
        ("57", ResponseCode.DECLINED),
        ("58", ResponseCode.DECLINED),
        ("92", ResponseCode.SYSTEM_ERROR),
    ],
)
def test_response_codes(raw: str, code: ResponseCode) -> None:
    assert messages.response_code(raw) is code


@pytest.mark.parametrize("raw", ["01", "10", "11", "99", "0 ", "  ", "Y1", "a0"])
def test_an_unknown_response_code_is_a_decline(raw: str) -> None:
    assert messages.response_code(raw) is ResponseCode.DECLINED


def test_an_approval_carries_its_approval_code() -> None:
    answer = messages.answer_from_fields({"t": "0110", "11": "000042", "38": "A1B2C3", "39": "00"})

    assert answer.approved
    assert (answer.approval_code, answer.raw_code) == ("A1B2C3", "00")


def test_a_decline_has_no_approval_code() -> None:
    answer = messages.answer_from_fields({"t": "0110", "38": "A1B2C3", "39": "51"})

    assert answer.code is ResponseCode.INSUFFICIENT_FUNDS
    assert answer.approval_code == ""


def test_a_reversal_answer_needs_no_approval_code() -> None:
    assert messages.answer_from_fields({"t": "0410", "39": "00"}).approved


@pytest.mark.parametrize(
    "fields",
    [
        {"t": "0110", "11": "000042"},
        {"t": "0110", "39": "0"},
        {"t": "0110", "39": "00"},
        {"t": "0110", "38": "      ", "39": "00"},
    ],
)
def test_unusable_answers_are_malformed(fields: spec.Fields) -> None:
    with pytest.raises(MalformedMessage):
        messages.answer_from_fields(fields)


def test_an_answer_must_echo_its_request() -> None:
    request = messages.authorization_fields(authorization(), terminal_id="T1", acquirer_id="1")
    answer = {"t": "0110", "11": "000042", "37": request["37"], "4": request["4"], "39": "00"}

    assert wire.answers(request, answer)
    assert not wire.answers(request, answer | {"t": "0410"})
    assert not wire.answers(request, answer | {"11": "000043"})
    assert not wire.answers(request, answer | {"37": "506512000099"})
    assert not wire.answers(request, answer | {"4": "000000099999"})


@pytest.mark.parametrize(
    ("request_mti", "answer_mti"),
    [("0100", "0110"), ("0400", "0410"), ("0401", "0410"), ("0800", "0810")],
)
def test_answer_mti(request_mti: str, answer_mti: str) -> None:
    assert wire.answer_mti(request_mti) == answer_mti


@pytest.mark.parametrize("mti", ["0110", "0410", "01", "ABCD"])
def test_only_requests_have_an_answer_mti(mti: str) -> None:
    with pytest.raises(MalformedMessage):
        wire.answer_mti(mti)


def test_values_that_do_not_fit_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="merchant id"):
        messages.authorization_fields(
            AuthorizationRequest(
                authorization().id,
                authorization().card,
                Money(1, currency("RUB")),
                "1234567890123456",
            ),
            terminal_id="T",
            acquirer_id="1",
        )
    with pytest.raises(ValueError, match="12 digits"):
        messages.authorization_fields(authorization(minor=10**12), terminal_id="T", acquirer_id="1")
    with pytest.raises(ValueError, match="STAN"):
        wire.stan(1_000_000)
    with pytest.raises(ValueError, match="terminal id"):
        messages.authorization_fields(authorization(), terminal_id="TOO-LONG-1", acquirer_id="1")
    with pytest.raises(ValueError, match="acquirer id"):
        messages.authorization_fields(authorization(), terminal_id="T", acquirer_id="12AB")


@pytest.mark.parametrize("field", ["9", "92", "9203", "920398", "92a3987"])
def test_broken_private_data(field: str) -> None:
    with pytest.raises(MalformedMessage):
        wire.parse_private_data(field)


def test_masked_hides_card_data_and_keeps_the_rest() -> None:
    fields = messages.authorization_fields(authorization(), terminal_id="T1", acquirer_id="1")
    fields |= {"35": "4111111111111111=3109", "45": "B4111111111111111^X", "52": "FFFF"}

    shown = wire.masked(fields)

    assert shown["2"] == "411111****1111"
    assert {shown[key] for key in ("14", "35", "45", "48", "52")} == {"***"}
    assert {key: shown[key] for key in ("4", "11", "37", "49")} == {
        key: fields[key] for key in ("4", "11", "37", "49")
    }
    assert "4111111111111111" not in repr(shown)
    assert fields["2"] == "4111111111111111"


@pytest.mark.parametrize(
    ("pan", "shown"),
    [("4111111111111111", "411111****1111"), ("2200000000000004006", "220000****4006")],
)
def test_mask_pan_matches_pan_masked(pan: str, shown: str) -> None:
    assert wire.mask_pan(pan) == shown == Pan.parse(pan).masked


def test_codec_errors_do_not_quote_the_message() -> None:
    with pytest.raises(spec.CodecError) as caught:
        spec.encode({"t": "0100", "2": "41111111111111111111"})
    assert "4111" not in str(caught.value)

    with pytest.raises(spec.CodecError) as caught:
        spec.decode(b"0100400000000000000016411111111111111")
    assert "4111" not in str(caught.value)


async def test_frames_carry_a_two_byte_big_endian_length() -> None:
    body = spec.encode(wire.network_fields(NetworkCode.SIGN_ON, number=1, at=SENT_AT))
    data = framing.frame(body)
    reader = asyncio.StreamReader()
    reader.feed_data(data + data)
    reader.feed_eof()

    assert data[:2] == len(body).to_bytes(2, "big")
    assert await framing.read_frame(reader) == body
    assert await framing.read_frame(reader) == body
    with pytest.raises(asyncio.IncompleteReadError):
        await framing.read_frame(reader)


async def test_a_length_no_message_can_have_breaks_the_framing() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"\x00\x05hello")

    with pytest.raises(framing.FramingError):
        await framing.read_frame(reader)


def test_a_card_without_its_cvc_goes_as_a_card_on_file_and_one_with_it_as_keyed() -> None:
    keyed = authorization(cvc="987")
    on_file = dataclasses.replace(keyed, card=dataclasses.replace(keyed.card, cvc=None))

    assert messages.authorization_fields(keyed, terminal_id="T", acquirer_id="1")["22"] == (
        wire.ECOMMERCE_ENTRY
    )
    fields = messages.authorization_fields(on_file, terminal_id="T", acquirer_id="1")
    assert fields["22"] == wire.STORED_CARD_ENTRY and "48" not in fields
