"""The card of 3-D Secure end to end on the simulator: a challenge passed over HTTP, then its
authorization over ISO 8583 — approved only with the CAVV the ACS made, once."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from demobank import Simulator
from demobank.money import Money as BankMoney
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.domain.responses import ResponseCode
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import Answer, AuthorizationRequest, MessageId
from ips.processing.secure import AuthenticationStatus
from ips.processing.secure_http import HttpThreeDSecure
from tests.simulator_browser import new_browser, open_form

RUB = currency("RUB")
ENROLLED = "4000000000003220"
TERMINAL = "IPS00001"
MERCHANT = "111111"
SHOP = "http://shop.example/pay/3ds"


@dataclasses.dataclass
class Bank:
    simulator: Simulator
    processing: Iso8583ProcessingCenter
    acs: HttpThreeDSecure
    browser: httpx.AsyncClient
    numbers: itertools.count[int] = dataclasses.field(default_factory=lambda: itertools.count(1))

    async def passed_challenge(self, pan: str = ENROLLED) -> str:
        """The CAVV of a challenge answered with the right code on the ACS's page."""
        challenge = await self.acs.enroll(Pan.parse(pan), Money(500_00, RUB), MERCHANT, SHOP)
        assert challenge is not None
        form = await open_form(self.browser, challenge.url)
        posted = await form.post(code="1234", action="submit")
        assert posted.status_code == 303
        result = await self.acs.result(challenge.transaction)
        assert result.status is AuthenticationStatus.AUTHENTICATED
        return result.cavv

    def authorization(self, pan: str = ENROLLED, cavv: str = "") -> AuthorizationRequest:
        number = next(self.numbers)
        card = Card(Pan.parse(pan), Expiry(12, 2035), Secret("123"), "IVAN PETROV")
        return AuthorizationRequest(
            MessageId(number, f"{number:012d}", datetime.now(UTC)),
            card,
            Money(500_00, RUB),
            MERCHANT,
            cavv=cavv,
        )

    async def authorize(self, pan: str = ENROLLED, cavv: str = "") -> Answer:
        return await self.processing.authorize(self.authorization(pan, cavv))


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[Bank]:
    async with Simulator(tmp_path / "bank.sqlite3") as simulator:
        processing = Iso8583ProcessingCenter(
            "127.0.0.1", simulator.port, terminal_id=TERMINAL, acquirer_id="1", timeout=2.0
        )
        acs = HttpThreeDSecure(simulator.http_url, timeout=2.0)
        async with new_browser() as browser:
            try:
                yield Bank(simulator, processing, acs, browser)
            finally:
                await processing.close()
                await acs.close()


async def test_the_authorization_with_its_cavv_is_approved(bank: Bank) -> None:
    cavv = await bank.passed_challenge()
    request = bank.authorization(cavv=cavv)

    answer = await bank.processing.authorize(request)

    assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00")
    [hold] = await bank.simulator.ledger.holds()
    assert (hold.rrn, hold.amount, hold.approval_code) == (
        request.id.rrn,
        BankMoney(500_00, RUB),
        answer.approval_code,
    )
    [used] = await bank.simulator.ledger.acs.transactions()
    assert (used.cavv, used.used_terminal_id, used.used_rrn) == (cavv, TERMINAL, request.id.rrn)
    assert used.used_at is not None


async def test_without_a_cavv_the_card_needs_3ds(bank: Bank) -> None:
    answer = await bank.authorize()

    assert (answer.code, answer.raw_code, answer.approval_code) == (
        ResponseCode.THREE_DS_REQUIRED,
        "A3",
        "",
    )
    assert await bank.simulator.ledger.holds() == []


@pytest.mark.parametrize(
    "cavv", ["AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "x", " " * 28], ids=["made-up", "short", "blank"]
)
async def test_a_cavv_the_acs_did_not_make_is_refused(bank: Bank, cavv: str) -> None:
    await bank.passed_challenge()

    answer = await bank.authorize(cavv=cavv)

    assert (answer.code, answer.raw_code) == (ResponseCode.THREE_DS_REQUIRED, "A3")
    assert await bank.simulator.ledger.holds() == []
    [unused] = await bank.simulator.ledger.acs.transactions()
    assert unused.used_at is None


async def test_a_cavv_pays_once(bank: Bank) -> None:
    cavv = await bank.passed_challenge()

    first = await bank.authorize(cavv=cavv)
    again = await bank.authorize(cavv=cavv)

    assert (first.raw_code, again.raw_code) == ("00", "A3")
    assert len(await bank.simulator.ledger.holds()) == 1


async def test_two_authorizations_racing_for_one_cavv_get_one_approval(bank: Bank) -> None:
    cavv = await bank.passed_challenge()

    answers = await asyncio.gather(*(bank.authorize(cavv=cavv) for _ in range(5)))

    assert sorted(answer.raw_code for answer in answers) == ["00", "A3", "A3", "A3", "A3"]
    assert len(await bank.simulator.ledger.holds()) == 1


async def test_a_failed_challenge_leaves_nothing_to_pay_with(bank: Bank) -> None:
    challenge = await bank.acs.enroll(Pan.parse(ENROLLED), Money(500_00, RUB), MERCHANT, SHOP)
    assert challenge is not None
    form = await open_form(bank.browser, challenge.url)
    assert (await form.post(code="4321", action="submit")).status_code == 303

    assert (await bank.acs.result(challenge.transaction)).cavv == ""
    assert (await bank.authorize()).raw_code == "A3"


async def test_other_cards_ignore_a_cavv(bank: Bank) -> None:
    cavv = await bank.passed_challenge()

    with_the_cavv = await bank.authorize("4111111111111111", cavv)
    made_up = await bank.authorize("5555555555554444", "made-up")
    declining = await bank.authorize("4000000000000002", cavv)

    assert (with_the_cavv.raw_code, made_up.raw_code, declining.raw_code) == ("00", "00", "05")
    assert (await bank.authorize(cavv=cavv)).raw_code == "00"


async def test_the_card_checks_come_before_the_cavv(bank: Bank) -> None:
    cavv = await bank.passed_challenge()
    request = bank.authorization(cavv=cavv)
    expired = dataclasses.replace(
        request, card=dataclasses.replace(request.card, expiry=Expiry(1, 2020))
    )

    answer = await bank.processing.authorize(expired)

    assert answer.raw_code == "54"
    assert (await bank.authorize(cavv=cavv)).raw_code == "00"


async def test_neither_the_cavv_nor_the_card_number_is_logged(
    bank: Bank, caplog: pytest.LogCaptureFixture
) -> None:
    cavv = await bank.passed_challenge()
    caplog.set_level("DEBUG")

    await bank.authorize(cavv=cavv)

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ips."))
    assert "sending" in ours
    assert cavv not in ours
    assert ENROLLED not in caplog.text
