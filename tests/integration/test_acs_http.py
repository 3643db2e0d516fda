"""The simulated ACS over real HTTP: ``HttpThreeDSecure`` against the running simulator, and
the challenge page answered as a browser would (page fetched, form posted, no redirect
followed)."""

from __future__ import annotations

import asyncio
import base64
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from demobank import Simulator
from demobank.acs import CHALLENGE_LIFETIME, AcsOutcome, AcsStatus
from ips.domain.cards import Pan
from ips.domain.money import Money, currency
from ips.processing.port import NoAnswer
from ips.processing.secure import Authentication, AuthenticationStatus, Challenge
from ips.processing.secure_http import HttpThreeDSecure
from tests.fakes import ManualClock
from tests.parties import answering, never_answering
from tests.simulator_browser import COOKIE, Form, form_on, new_browser, open_form

RUB = currency("RUB")
ENROLLED = Pan.parse("4000000000003220")
SHOP = "http://shop.example:8080/pay/3ds?order=42"
MERCHANT = "111111"
AMOUNT = Money(1234_50, RUB)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def acs(simulator: Simulator) -> AsyncIterator[HttpThreeDSecure]:
    client = HttpThreeDSecure(simulator.http_url, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
async def browser(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with new_browser() as http:
        yield http


async def enroll(acs: HttpThreeDSecure, return_url: str = SHOP) -> Challenge:
    challenge = await acs.enroll(ENROLLED, AMOUNT, MERCHANT, return_url)
    assert challenge is not None
    return challenge


async def answer(
    browser: httpx.AsyncClient, challenge: Challenge, code: str | None
) -> httpx.Response:
    """Open the challenge page and post its form: ``code`` with Submit, or Cancel (None)."""
    form = await open_form(browser, challenge.url)
    assert form.action == challenge.url
    fields = {"action": "cancel"} if code is None else {"code": code, "action": "submit"}
    return await form.post(**fields)


def back_to(return_url: str, challenge: Challenge) -> str:
    parts = urllib.parse.urlsplit(return_url)
    query = "&".join(filter(None, [parts.query, f"transaction={challenge.transaction}"]))
    return urllib.parse.urlunsplit(parts._replace(query=query))


@pytest.mark.parametrize(
    "pan", ["4111111111111111", "5555555555554444", "2200000000000004", "4000000000000002"]
)
async def test_only_the_3ds_test_card_is_enrolled(
    acs: HttpThreeDSecure, simulator: Simulator, pan: str
) -> None:
    assert await acs.enroll(Pan.parse(pan), Money(100, RUB), MERCHANT, SHOP) is None
    assert await simulator.ledger.acs.transactions() == []


async def test_the_enrolled_card_gets_a_challenge_on_the_simulator(
    acs: HttpThreeDSecure, simulator: Simulator, clock: ManualClock
) -> None:
    challenge = await enroll(acs)

    assert challenge.url == f"{simulator.http_url}/3ds/challenge/{challenge.transaction}"
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.PENDING)
    [kept] = await simulator.ledger.acs.transactions()
    assert (kept.id, kept.masked_pan, kept.merchant_id, str(kept.amount), kept.return_url) == (
        challenge.transaction,
        "400000****3220",
        MERCHANT,
        str(AMOUNT),
        SHOP,
    )
    assert kept.card_ref == simulator.ledger.card_ref(ENROLLED)
    assert (kept.status, kept.outcome, kept.cavv) == (AcsStatus.PENDING, None, "")
    assert kept.expires_at == clock.now + CHALLENGE_LIFETIME


async def test_the_challenge_page_shows_what_is_confirmed(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient
) -> None:
    challenge = await enroll(acs)

    page = await browser.get(challenge.url)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for shown in ("400000****3220", "1234.50 RUB", MERCHANT, "1234"):
        assert shown in page.text
    assert ENROLLED.reveal() not in page.text
    assert '<label for="code">' in page.text
    assert 'id="code" name="code"' in page.text
    assert 'value="submit">Submit</button>' in page.text
    assert 'value="cancel" class="secondary" formnovalidate>Cancel</button>' in page.text


@pytest.mark.parametrize(
    "return_url",
    [SHOP, "https://shop.example/back", "http://127.0.0.1:8000/pay/3ds?a=1&b=2#top"],
    ids=["query", "no-query", "fragment"],
)
async def test_the_right_code_authenticates_and_sends_the_buyer_back(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient, simulator: Simulator, return_url: str
) -> None:
    challenge = await enroll(acs, return_url)

    posted = await answer(browser, challenge, "1234")

    assert posted.status_code == 303
    assert posted.headers["location"] == back_to(return_url, challenge)
    result = await acs.result(challenge.transaction)
    assert result.status is AuthenticationStatus.AUTHENTICATED
    assert len(base64.b64decode(result.cavv, validate=True)) == 20
    assert await acs.result(challenge.transaction) == result
    [kept] = await simulator.ledger.acs.transactions()
    assert (kept.status, kept.outcome, kept.cavv) == (
        AcsStatus.AUTHENTICATED,
        AcsOutcome.AUTHENTICATED,
        result.cavv,
    )


async def test_every_cavv_is_new(acs: HttpThreeDSecure, browser: httpx.AsyncClient) -> None:
    cavvs = set()
    for _ in range(3):
        challenge = await enroll(acs)
        await answer(browser, challenge, "1234")
        cavvs.add((await acs.result(challenge.transaction)).cavv)

    assert len(cavvs) == 3


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("0000", AcsOutcome.WRONG_CODE),
        ("12345", AcsOutcome.WRONG_CODE),
        ("", AcsOutcome.WRONG_CODE),
        (None, AcsOutcome.CANCELLED),
    ],
    ids=["wrong", "longer", "empty", "cancel"],
)
async def test_a_wrong_code_or_cancel_fails_once_and_for_all(
    acs: HttpThreeDSecure,
    browser: httpx.AsyncClient,
    simulator: Simulator,
    code: str | None,
    outcome: AcsOutcome,
) -> None:
    challenge = await enroll(acs)
    form = await open_form(browser, challenge.url)

    fields = {"action": "cancel"} if code is None else {"code": code, "action": "submit"}
    posted = await form.post(**fields)

    assert posted.status_code == 303
    assert posted.headers["location"] == back_to(SHOP, challenge)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.FAILED)

    again = await form.post(code="1234", action="submit")

    assert again.status_code == 303
    assert again.headers["location"] == back_to(SHOP, challenge)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.FAILED)
    [kept] = await simulator.ledger.acs.transactions()
    assert (kept.status, kept.outcome, kept.cavv) == (AcsStatus.FAILED, outcome, "")


async def test_an_answered_challenge_shows_how_it_ended(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient
) -> None:
    passed, failed = await enroll(acs), await enroll(acs)
    await answer(browser, passed, "1234")
    await answer(browser, failed, "9999")

    shown_passed = await browser.get(passed.url)
    shown_failed = await browser.get(failed.url)

    assert "Payment confirmed" in shown_passed.text
    assert "Payment not confirmed" in shown_failed.text
    for shown, challenge in ((shown_passed, passed), (shown_failed, failed)):
        assert shown.status_code == 200
        assert "<form" not in shown.text
        assert f'href="{back_to(SHOP, challenge).replace("&", "&amp;")}"' in shown.text


async def test_a_challenge_expires_after_ten_minutes(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient, simulator: Simulator, clock: ManualClock
) -> None:
    challenge = await enroll(acs)
    form = await open_form(browser, challenge.url)

    clock.advance(minutes=9, seconds=59)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.PENDING)
    clock.advance(seconds=1)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.FAILED)
    assert "ran out" in (await browser.get(challenge.url)).text

    late = await form.post(code="1234", action="submit")

    assert late.status_code == 303
    assert late.headers["location"] == back_to(SHOP, challenge)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.FAILED)
    [kept] = await simulator.ledger.acs.transactions()
    assert (kept.status, kept.outcome, kept.answered_at) == (
        AcsStatus.FAILED,
        AcsOutcome.EXPIRED,
        kept.expires_at,
    )


def forged(token: str) -> str:
    """The token with the last digit of its signature changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


async def other_challenge_token(acs: HttpThreeDSecure, browser: httpx.AsyncClient) -> str:
    return (await open_form(browser, (await enroll(acs)).url)).token


@pytest.mark.parametrize(
    "sent",
    ["none", "empty", "forged", "another challenge's", "non-ASCII", "another browser's"],
)
@pytest.mark.parametrize("action", ["submit", "cancel"])
async def test_a_form_without_the_token_of_this_browser_changes_nothing(
    acs: HttpThreeDSecure,
    browser: httpx.AsyncClient,
    simulator: Simulator,
    sent: str,
    action: str,
) -> None:
    challenge = await enroll(acs)
    form = await open_form(browser, challenge.url)
    fields = {"code": "1234", "action": action}
    async with new_browser() as other:
        theirs = await open_form(other, challenge.url)
        token = {
            "empty": "",
            "forged": forged(form.token),
            "another challenge's": await other_challenge_token(acs, browser),
            "non-ASCII": form.token[:-1] + "²",
            "another browser's": theirs.token,
        }.get(sent)
        data = fields if token is None else {"token": token, **fields}

        refused = await browser.post(form.action, data=data)

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in refused.text
    assert "nothing was changed" in refused.text
    assert "location" not in refused.headers
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.PENDING)
    kept = await simulator.ledger.acs.transaction(challenge.transaction)
    assert kept is not None
    assert (kept.status, kept.outcome, kept.answered_at) == (AcsStatus.PENDING, None, None)

    again = form_on(browser, refused)
    assert (await again.post(code="1234", action="submit")).status_code == 303
    assert (await acs.result(challenge.transaction)).status is AuthenticationStatus.AUTHENTICATED


async def test_a_browser_without_the_cookie_cannot_answer(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient
) -> None:
    challenge = await enroll(acs)
    form = await open_form(browser, challenge.url)
    browser.cookies.clear()

    refused = await form.post(code="1234", action="submit")

    assert refused.status_code == 403
    assert refused.cookies.get(COOKIE)
    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.PENDING)


async def test_another_browser_s_form_is_refused_both_ways(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient
) -> None:
    challenge = await enroll(acs)
    mine = await open_form(browser, challenge.url)
    async with new_browser() as other:
        theirs = await open_form(other, challenge.url)
        stolen = Form(other, mine.action, mine.token)

        assert (await stolen.post(action="cancel")).status_code == 403
        assert (await Form(browser, theirs.action, theirs.token).post()).status_code == 403
        assert (await theirs.post(action="cancel")).status_code == 303

    assert await acs.result(challenge.transaction) == Authentication(AuthenticationStatus.FAILED)


async def test_a_form_is_good_after_a_restart_of_the_simulator(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    challenge = await enroll(acs)
    form = await open_form(browser, challenge.url)
    await simulator.stop()
    await simulator.start()

    posted = await form.post(code="1234", action="submit")

    assert posted.status_code == 303
    assert (await acs.result(challenge.transaction)).status is AuthenticationStatus.AUTHENTICATED


async def test_unknown_transactions(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    with pytest.raises(NoAnswer, match="404"):
        await acs.result("no-such-transaction")
    with pytest.raises(NoAnswer):
        await acs.result("")

    result = await browser.get(f"{simulator.http_url}/3ds/result/nope")
    page = await browser.get(f"{simulator.http_url}/3ds/challenge/nope")
    posted = await browser.post(
        f"{simulator.http_url}/3ds/challenge/nope", data={"code": "1234", "action": "submit"}
    )

    assert (result.status_code, result.json()) == (404, {"error": "no such 3-D Secure transaction"})
    assert (page.status_code, posted.status_code) == (404, 404)
    assert "No such confirmation" in page.text
    assert await simulator.ledger.acs.transactions() == []


def enrollment(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "pan": ENROLLED.reveal(),
        "amount": 100,
        "currency": "RUB",
        "merchant_id": MERCHANT,
        "return_url": SHOP,
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


@pytest.mark.parametrize(
    "body",
    [
        enrollment(pan=None),
        enrollment(pan="4000000000003221"),
        enrollment(pan="4000 0000 0000 3220"),
        enrollment(pan=4000000000003220),
        enrollment(amount=0),
        enrollment(amount="100"),
        enrollment(amount=True),
        enrollment(amount=1.5),
        enrollment(amount=10**12),
        enrollment(currency="XXX"),
        enrollment(currency="rub"),
        enrollment(currency=643),
        enrollment(merchant_id=""),
        enrollment(merchant_id="1" * 16),
        enrollment(return_url="javascript:alert(1)"),
        enrollment(return_url="/relative"),
        enrollment(return_url="http://user:pass@shop.example/"),
        enrollment(return_url="http://shop.example/a b"),
        enrollment(return_url="http://shop.example/\r\nSet-Cookie:x=1"),
        enrollment(return_url=None),
    ],
)
async def test_bad_enrollments_are_refused_with_a_reason(
    browser: httpx.AsyncClient, simulator: Simulator, body: dict[str, object]
) -> None:
    answer = await browser.post(f"{simulator.http_url}/3ds/enroll", json=body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert ENROLLED.reveal() not in answer.text
    assert await simulator.ledger.acs.transactions() == []


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"], ids=repr)
async def test_an_enrollment_that_is_no_json_object_is_refused(
    browser: httpx.AsyncClient, simulator: Simulator, content: bytes
) -> None:
    answer = await browser.post(
        f"{simulator.http_url}/3ds/enroll",
        content=content,
        headers={"content-type": "application/json"},
    )

    assert answer.status_code == 400
    assert "error" in answer.json()


async def test_the_client_refuses_what_the_acs_refuses(acs: HttpThreeDSecure) -> None:
    with pytest.raises(NoAnswer, match="400"):
        await acs.enroll(ENROLLED, Money(100, RUB), MERCHANT, "ftp://shop.example/")


async def test_no_card_number_reaches_the_disk(
    acs: HttpThreeDSecure, browser: httpx.AsyncClient, simulator: Simulator, tmp_path: Path
) -> None:
    challenge = await enroll(acs)
    await answer(browser, challenge, "1234")

    stored = await asyncio.to_thread(
        lambda: b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    )

    assert ENROLLED.reveal().encode() not in stored
    assert b"400000****3220" in stored


async def test_no_card_number_is_logged(
    acs: HttpThreeDSecure,
    browser: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    challenge = await enroll(acs)
    await answer(browser, challenge, "1234")
    await acs.result(challenge.transaction)

    assert ENROLLED.reveal() not in caplog.text
    assert "400000****3220" in caplog.text


# The client's own failures: an ACS that is down, silent, or answers what cannot be read.


async def test_an_acs_that_is_down_is_no_answer(tmp_path: Path) -> None:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        url = running.http_url
    client = HttpThreeDSecure(url, timeout=1.0)
    try:
        with pytest.raises(NoAnswer):
            await client.enroll(ENROLLED, Money(100, RUB), MERCHANT, SHOP)
        with pytest.raises(NoAnswer):
            await client.result("any")
    finally:
        await client.close()


async def test_an_acs_that_never_answers_is_no_answer() -> None:
    async with never_answering() as url:
        client = HttpThreeDSecure(url, timeout=0.2)
        try:
            with pytest.raises(NoAnswer, match="Timeout"):
                await client.enroll(ENROLLED, Money(100, RUB), MERCHANT, SHOP)
        finally:
            await client.close()


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (500, b'{"enrolled": false}'),
        (302, b'{"enrolled": false}'),
        (200, b"<html>"),
        (200, b"[]"),
        (200, b"{}"),
        (200, b'{"enrolled": "no"}'),
        (200, b'{"enrolled": true}'),
        (200, b'{"enrolled": true, "transaction": "1", "url": "javascript:x"}'),
        (200, b'{"enrolled": true, "transaction": 1, "url": "http://acs/1"}'),
    ],
)
async def test_an_unreadable_enrollment_is_no_answer(status: int, content: bytes) -> None:
    client = HttpThreeDSecure(
        "http://acs.test", timeout=1.0, transport=httpx.MockTransport(answering(status, content))
    )
    try:
        with pytest.raises(NoAnswer):
            await client.enroll(ENROLLED, Money(100, RUB), MERCHANT, SHOP)
    finally:
        await client.close()


@pytest.mark.parametrize(
    "content",
    [
        b'{"status": "A"}',
        b"{}",
        b'{"status": "Y", "cavv": ""}',
        b'{"status": "Y"}',
        b'{"status": "N", "cavv": "AAAA"}',
        b'{"status": "U", "cavv": 5}',
        b"null",
    ],
)
async def test_an_unreadable_result_is_no_answer(content: bytes) -> None:
    client = HttpThreeDSecure(
        "http://acs.test", timeout=1.0, transport=httpx.MockTransport(answering(200, content))
    )
    try:
        with pytest.raises(NoAnswer):
            await client.result("1")
    finally:
        await client.close()


async def test_the_client_asks_for_the_transaction_it_names() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"status": "N", "cavv": ""})

    client = HttpThreeDSecure("http://acs.test", timeout=1.0, transport=httpx.MockTransport(handle))
    try:
        await client.result("a/../b?c")
    finally:
        await client.close()

    assert seen == ["/3ds/result/a%2F..%2Fb%3Fc"]
