"""The Demo Wallet over real HTTP: ``HttpWallet`` against the running simulator, and the
wallet's page used as a browser would (page fetched, form posted, no redirect followed)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from demobank import Ledger, Simulator
from demobank.money import Money as BankMoney
from demobank.wallet import DeclineReason, PaymentStatus
from ips.domain.money import Money, currency
from ips.processing.port import NoAnswer
from ips.processing.wallet import WalletPayment, WalletState, WalletStatus
from ips.processing.wallet_http import HttpWallet
from tests.fakes import ManualClock
from tests.parties import answering, never_answering
from tests.simulator_browser import Form, form_on, new_browser, open_form

RUB = currency("RUB")
JPY = currency("JPY")
SHOP = "http://shop.example/pay/wallet?order=7"
MERCHANT = "111111"
DEMO_RUB = 10_000_00
AMOUNT = Money(1234_56, RUB)


class Pauses:
    """The simulator's ``sleep``: notes how long each wrong password kept the buyer waiting,
    without waiting."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.taken.append(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
async def simulator(tmp_path: Path, clock: ManualClock, pauses: Pauses) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3", clock=clock, sleep=pauses.sleep) as running:
        yield running


@pytest.fixture
async def wallet(simulator: Simulator) -> AsyncIterator[HttpWallet]:
    client = HttpWallet(simulator.http_url, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with new_browser() as http:
        yield http


async def create(
    wallet: HttpWallet, reference: str = "ips-1", amount: Money = AMOUNT
) -> WalletPayment:
    return await wallet.create(reference, amount, MERCHANT, "Order 7: two books", SHOP)


async def submit(
    browser: httpx.AsyncClient, payment: WalletPayment, **fields: str
) -> httpx.Response:
    """Open the wallet's page and post its form with ``fields``."""
    form = await open_form(browser, payment.url)
    assert form.action == payment.url
    return await form.post(**fields)


async def pay(
    browser: httpx.AsyncClient, payment: WalletPayment, login: str, password: str
) -> httpx.Response:
    return await submit(browser, payment, login=login, password=password, action="pay")


def back_to(payment: WalletPayment, return_url: str = SHOP) -> str:
    separator = "&" if "?" in return_url else "?"
    return f"{return_url}{separator}payment={payment.id}"


async def test_a_payment_is_created_pending_with_its_page(
    wallet: HttpWallet, simulator: Simulator
) -> None:
    payment = await create(wallet)

    assert payment.url == f"{simulator.http_url}/wallet/pay/{payment.id}"
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PENDING, "")
    [kept] = await simulator.ledger.wallet.payments()
    assert (kept.id, kept.reference, kept.merchant_id, kept.amount, kept.description) == (
        payment.id,
        "ips-1",
        MERCHANT,
        BankMoney(1234_56, RUB),
        "Order 7: two books",
    )
    assert (kept.status, kept.return_url, kept.refunded) == (
        PaymentStatus.PENDING,
        SHOP,
        BankMoney(0, RUB),
    )


async def test_the_merchant_cancels_a_payment_left_pending_but_not_a_paid_one(
    wallet: HttpWallet, browser: httpx.AsyncClient
) -> None:
    """IPS gives up a payment the buyer never finished once the order's time is up; a buyer
    who paid a moment before keeps the payment."""
    left = await create(wallet)
    assert await wallet.cancel(left.id) == WalletState(WalletStatus.DECLINED, "")
    assert (await wallet.status(left.id)).status is WalletStatus.DECLINED
    with pytest.raises(NoAnswer):
        await wallet.cancel("no-such-payment")

    paid = await create(wallet, reference="ips-2")
    await pay(browser, paid, "demo", "demo")
    assert await wallet.cancel(paid.id) == WalletState(WalletStatus.PAID, "d***o")


async def test_the_same_reference_makes_one_payment(
    wallet: HttpWallet, simulator: Simulator
) -> None:
    first = await create(wallet)
    again = await create(wallet)
    other = await create(wallet, reference="ips-2")

    assert again == first
    assert other.id != first.id
    assert len(await simulator.ledger.wallet.payments()) == 2


@pytest.mark.parametrize(
    "amount", [Money(1234_55, RUB), Money(1234_56, currency("USD"))], ids=["amount", "currency"]
)
async def test_a_reference_reused_for_another_payment_is_refused(
    wallet: HttpWallet, simulator: Simulator, amount: Money
) -> None:
    await create(wallet)

    with pytest.raises(NoAnswer, match="409"):
        await create(wallet, amount=amount)
    assert len(await simulator.ledger.wallet.payments()) == 1


async def test_the_page_shows_what_is_paid(wallet: HttpWallet, browser: httpx.AsyncClient) -> None:
    payment = await create(wallet)

    page = await browser.get(payment.url)

    assert page.status_code == 200
    for shown in ("1234.56 RUB", MERCHANT, "Order 7: two books", "Demo Wallet"):
        assert shown in page.text
    assert '<label for="login">' in page.text
    assert '<label for="password">' in page.text
    assert 'autocomplete="username"' in page.text
    assert 'type="password" autocomplete="current-password"' in page.text
    assert 'value="pay">Pay 1234.56 RUB</button>' in page.text
    assert 'value="cancel" class="secondary" formnovalidate>Cancel</button>' in page.text


async def test_the_demo_wallet_pays(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)

    posted = await pay(browser, payment, "demo", "demo")

    assert posted.status_code == 303
    assert posted.headers["location"] == back_to(payment)
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PAID, "d***o")
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB - 1234_56, RUB)
    assert await simulator.ledger.wallet.balance("demo", "USD") == BankMoney(
        10_000_00, currency("USD")
    )
    shown = await browser.get(payment.url)
    assert "Payment made" in shown.text
    assert "<form" not in shown.text


async def test_a_wrong_password_shows_the_page_again(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)

    for login, password in (("demo", "wrong"), ("nobody", "demo"), ("", "")):
        posted = await pay(browser, payment, login, password)

        assert posted.status_code == 200
        assert 'role="alert"' in posted.text
        assert "The login or the password is wrong" in posted.text
        assert "wrong" not in re.findall(r'value="([^"]*)"', posted.text)
        assert await wallet.status(payment.id) == WalletState(WalletStatus.PENDING, "")
    assert 'value="nobody"' in (await pay(browser, payment, "nobody", "x")).text

    posted = await pay(browser, payment, "demo", "demo")

    assert posted.status_code == 303
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PAID, "d***o")
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB - 1234_56, RUB)


async def test_a_poor_wallet_is_declined(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    too_much = await create(wallet, "ips-1", Money(1_01, RUB))
    just_enough = await create(wallet, "ips-2", Money(1_00, RUB))

    declined = await pay(browser, too_much, "poor", "poor")

    assert declined.status_code == 303
    assert declined.headers["location"] == back_to(too_much)
    assert await wallet.status(too_much.id) == WalletState(WalletStatus.DECLINED, "p***r")
    assert await simulator.ledger.wallet.balance("poor", RUB) == BankMoney(1_00, RUB)
    assert "too little" in (await browser.get(too_much.url)).text

    await pay(browser, just_enough, "poor", "poor")

    assert await wallet.status(just_enough.id) == WalletState(WalletStatus.PAID, "p***r")
    assert await simulator.ledger.wallet.balance("poor", RUB) == BankMoney(0, RUB)
    reasons = [p.reason for p in await simulator.ledger.wallet.payments()]
    assert reasons == [DeclineReason.INSUFFICIENT_FUNDS, None]


async def test_the_demo_wallet_holds_ten_thousand_in_every_currency(
    wallet: HttpWallet, browser: httpx.AsyncClient
) -> None:
    yen = await create(wallet, "ips-1", Money(10_000, JPY))
    more = await create(wallet, "ips-2", Money(1, JPY))

    await pay(browser, yen, "demo", "demo")
    await pay(browser, more, "demo", "demo")

    assert (await wallet.status(yen.id)).status is WalletStatus.PAID
    assert (await wallet.status(more.id)).status is WalletStatus.DECLINED


async def test_cancel_declines_for_good(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)
    form = await open_form(browser, payment.url)

    cancelled = await form.post(action="cancel")

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == back_to(payment)
    assert await wallet.status(payment.id) == WalletState(WalletStatus.DECLINED, "")

    late = await form.post(login="demo", password="demo", action="pay")

    assert late.status_code == 303
    assert late.headers["location"] == back_to(payment)
    assert await wallet.status(payment.id) == WalletState(WalletStatus.DECLINED, "")
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB, RUB)
    assert "You cancelled" in (await browser.get(payment.url)).text


async def test_a_paid_payment_cannot_be_paid_or_cancelled_again(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)
    form = await open_form(browser, payment.url)
    await form.post(login="demo", password="demo", action="pay")

    again = await form.post(login="demo", password="demo", action="pay")
    cancel = await form.post(action="cancel")

    assert (again.status_code, cancel.status_code) == (303, 303)
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PAID, "d***o")
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB - 1234_56, RUB)


def forged(token: str) -> str:
    """The token with the last digit of its signature changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


async def assert_untouched(
    wallet: HttpWallet, simulator: Simulator, payment: WalletPayment
) -> None:
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PENDING, "")
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB, RUB)


@pytest.mark.parametrize(
    "sent",
    ["none", "empty", "forged", "another payment's", "non-ASCII", "another browser's", "old"],
)
@pytest.mark.parametrize("action", ["pay", "cancel"])
async def test_a_form_without_the_token_of_this_browser_changes_nothing(
    wallet: HttpWallet,
    browser: httpx.AsyncClient,
    simulator: Simulator,
    clock: ManualClock,
    sent: str,
    action: str,
) -> None:
    payment = await create(wallet)
    form = await open_form(browser, payment.url)
    fields = {"login": "demo", "password": "demo", "action": action}
    async with new_browser() as other:
        token = {
            "empty": "",
            "forged": forged(form.token),
            "another payment's": (await open_form(browser, (await create(wallet, "x")).url)).token,
            "non-ASCII": form.token[:-1] + "²",
            "another browser's": (await open_form(other, payment.url)).token,
            "old": form.token,
        }.get(sent)
        if sent == "old":
            clock.advance(hours=1, seconds=1)
        data = fields if token is None else {"token": token, **fields}

        refused = await browser.post(form.action, data=data)

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "nothing was changed" in refused.text
    assert 'value="demo"' in refused.text
    assert "location" not in refused.headers
    await assert_untouched(wallet, simulator, payment)

    again = form_on(browser, refused)
    assert (await again.post(**fields)).status_code == 303
    paid = WalletState(WalletStatus.PAID, "d***o")
    assert await wallet.status(payment.id) == (
        paid if action == "pay" else WalletState(WalletStatus.DECLINED, "")
    )


async def test_another_browser_s_form_is_refused_both_ways(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)
    mine = await open_form(browser, payment.url)
    async with new_browser() as other:
        theirs = await open_form(other, payment.url)

        stolen = await Form(other, mine.action, mine.token).post(action="cancel")
        lent = await Form(browser, theirs.action, theirs.token).post(
            login="demo", password="demo", action="pay"
        )

    assert (stolen.status_code, lent.status_code) == (403, 403)
    await assert_untouched(wallet, simulator, payment)


async def test_eleven_wrong_passwords_lock_the_wallet_login(
    wallet: HttpWallet,
    browser: httpx.AsyncClient,
    simulator: Simulator,
    clock: ManualClock,
    pauses: Pauses,
) -> None:
    payment = await create(wallet)
    form = await open_form(browser, payment.url)

    answers = [
        await form.post(login="demo", password=f"guess-{n}", action="pay") for n in range(11)
    ]

    assert [a.status_code for a in answers] == [200] * 9 + [429, 429]
    assert all("The login or the password is wrong" in a.text for a in answers[:9])
    assert all("locked for 30 minutes" in a.text for a in answers[9:])
    assert pauses.taken == [1, 2, 4, 8, 8, 8]
    refused = await form.post(login="demo", password="demo", action="pay")
    assert refused.status_code == 429
    assert pauses.taken == [1, 2, 4, 8, 8, 8]
    await assert_untouched(wallet, simulator, payment)

    poor = await submit(
        browser,
        await create(wallet, "ips-2", Money(1_00, RUB)),
        login="poor",
        password="poor",
        action="pay",
    )
    assert poor.status_code == 303

    await simulator.stop()
    await simulator.start()
    clock.advance(minutes=29, seconds=59)
    assert (await form.post(login="demo", password="demo", action="pay")).status_code == 429
    clock.advance(seconds=1)
    paid = await form.post(login="demo", password="demo", action="pay")

    assert paid.status_code == 303
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PAID, "d***o")


async def test_signing_in_clears_the_count_of_wrong_passwords(
    wallet: HttpWallet, browser: httpx.AsyncClient, pauses: Pauses
) -> None:
    for reference in ("ips-1", "ips-2"):
        form = await open_form(browser, (await create(wallet, reference, Money(1_00, RUB))).url)
        for n in range(5):
            await form.post(login="demo", password=f"guess-{n}", action="pay")
        assert (await form.post(login="demo", password="demo", action="pay")).status_code == 303

    assert pauses.taken == [1, 2, 1, 2]


async def test_logins_of_no_wallet_are_not_counted(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator, pauses: Pauses
) -> None:
    form = await open_form(browser, (await create(wallet)).url)

    answers = [await form.post(login="nobody", password="x", action="pay") for _ in range(12)]

    assert {a.status_code for a in answers} == {200}
    assert pauses.taken == []
    assert (await form.post(login="demo", password="demo", action="pay")).status_code == 303


async def test_refunds_give_back_at_most_what_was_paid(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet, amount=Money(100_00, RUB))
    await pay(browser, payment, "demo", "demo")

    assert await wallet.refund(payment.id, Money(30_00, RUB), "refund-1") is True
    assert await wallet.refund(payment.id, Money(70_01, RUB), "refund-2") is False
    assert await wallet.refund(payment.id, Money(30_00, RUB), "refund-1") is True
    assert await wallet.refund(payment.id, Money(70_00, RUB), "refund-3") is True
    assert await wallet.refund(payment.id, Money(1, RUB), "refund-4") is False

    refunds = await simulator.ledger.wallet.refunds()
    assert [(r.payment_id, r.reference, r.amount) for r in refunds] == [
        (payment.id, "refund-1", BankMoney(30_00, RUB)),
        (payment.id, "refund-3", BankMoney(70_00, RUB)),
    ]
    [kept] = await simulator.ledger.wallet.payments()
    assert (kept.status, kept.refunded, kept.refundable) == (
        PaymentStatus.PAID,
        BankMoney(100_00, RUB),
        BankMoney(0, RUB),
    )
    assert await simulator.ledger.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB, RUB)
    assert await wallet.status(payment.id) == WalletState(WalletStatus.PAID, "d***o")


async def test_a_repeated_refund_reference_gives_nothing_more_even_with_another_amount(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet, amount=Money(100_00, RUB))
    await pay(browser, payment, "demo", "demo")

    results = await asyncio.gather(
        *(wallet.refund(payment.id, Money(10_00, RUB), "same") for _ in range(5)),
        wallet.refund(payment.id, Money(50_00, RUB), "same"),
    )

    assert results == [True] * 6
    assert [r.amount for r in await simulator.ledger.wallet.refunds()] == [BankMoney(10_00, RUB)]


async def test_only_paid_payments_are_refunded(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    pending = await create(wallet, "ips-1")
    declined = await create(wallet, "ips-2")
    await submit(browser, declined, action="cancel")

    assert await wallet.refund(pending.id, Money(1_00, RUB), "r") is False
    assert await wallet.refund(declined.id, Money(1_00, RUB), "r") is False
    assert await simulator.ledger.wallet.refunds() == []


async def test_a_refund_in_another_currency_is_refused(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    payment = await create(wallet)
    await pay(browser, payment, "demo", "demo")

    assert await wallet.refund(payment.id, Money(1_00, currency("USD")), "r") is False
    assert await simulator.ledger.wallet.refunds() == []


async def test_unknown_payments(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator
) -> None:
    with pytest.raises(NoAnswer, match="404"):
        await wallet.status("no-such-payment")
    with pytest.raises(NoAnswer, match="404"):
        await wallet.refund("no-such-payment", Money(1, RUB), "r")

    status = await browser.get(f"{simulator.http_url}/wallet/payments/nope")
    page = await browser.get(f"{simulator.http_url}/wallet/pay/nope")
    posted = await browser.post(
        f"{simulator.http_url}/wallet/pay/nope",
        data={"login": "demo", "password": "demo", "action": "pay"},
    )
    cancelled = await browser.post(
        f"{simulator.http_url}/wallet/pay/nope", data={"action": "cancel"}
    )

    assert (status.status_code, status.json()) == (404, {"error": "no such payment"})
    assert (page.status_code, posted.status_code, cancelled.status_code) == (404, 404, 404)
    assert "No such payment" in page.text


def payment_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "reference": "ips-1",
        "amount": 100,
        "currency": "RUB",
        "merchant_id": MERCHANT,
        "description": "Order 7",
        "return_url": SHOP,
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


@pytest.mark.parametrize(
    "body",
    [
        payment_body(reference=None),
        payment_body(reference=""),
        payment_body(reference="with space"),
        payment_body(reference="x" * 65),
        payment_body(amount=0),
        payment_body(amount=-1),
        payment_body(amount="100"),
        payment_body(amount=False),
        payment_body(currency="XXX"),
        payment_body(merchant_id=None),
        payment_body(description="x" * 513),
        payment_body(description="two\nlines"),
        payment_body(return_url="mailto:shop@example.com"),
        payment_body(return_url="//shop.example/x"),
    ],
)
async def test_bad_payments_are_refused_with_a_reason(
    browser: httpx.AsyncClient, simulator: Simulator, body: dict[str, object]
) -> None:
    answer = await browser.post(f"{simulator.http_url}/wallet/payments", json=body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert await simulator.ledger.wallet.payments() == []


@pytest.mark.parametrize(
    "body",
    [{"amount": 0, "reference": "r"}, {"amount": 1}, {"amount": "1", "reference": "r"}],
)
async def test_bad_refunds_are_refused_with_a_reason(
    wallet: HttpWallet, browser: httpx.AsyncClient, body: dict[str, object]
) -> None:
    payment = await create(wallet)

    answer = await browser.post(f"{payment.url.replace('/pay/', '/payments/')}/refunds", json=body)

    assert answer.status_code == 400
    assert "error" in answer.json()


async def test_the_books_outlive_the_simulator(
    wallet: HttpWallet, browser: httpx.AsyncClient, simulator: Simulator, tmp_path: Path
) -> None:
    payment = await create(wallet)
    await pay(browser, payment, "demo", "demo")
    await wallet.refund(payment.id, Money(1_00, RUB), "r")
    await simulator.stop()

    async with await Ledger.open(tmp_path / "bank.sqlite3") as books:
        [kept] = await books.wallet.payments()
        assert (kept.id, kept.status, kept.account, kept.refunded) == (
            payment.id,
            PaymentStatus.PAID,
            "d***o",
            BankMoney(1_00, RUB),
        )
        assert await books.wallet.balance("demo", RUB) == BankMoney(DEMO_RUB - 1234_56 + 1_00, RUB)


# The client's own failures: a wallet that is down, silent, or answers what cannot be read.


async def test_a_wallet_that_is_down_is_no_answer(tmp_path: Path) -> None:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        url = running.http_url
    client = HttpWallet(url, timeout=1.0)
    try:
        with pytest.raises(NoAnswer):
            await client.create("r", Money(100, RUB), MERCHANT, "", SHOP)
        with pytest.raises(NoAnswer):
            await client.status("any")
        with pytest.raises(NoAnswer):
            await client.refund("any", Money(100, RUB), "r")
    finally:
        await client.close()


async def test_a_wallet_that_never_answers_is_no_answer() -> None:
    async with never_answering() as url:
        client = HttpWallet(url, timeout=0.2)
        try:
            with pytest.raises(NoAnswer, match="Timeout"):
                await client.status("any")
        finally:
            await client.close()


def mocked(status: int, content: bytes) -> HttpWallet:
    transport = httpx.MockTransport(answering(status, content))
    return HttpWallet("http://wallet.test", timeout=1.0, transport=transport)


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (503, b'{"id": "1", "url": "http://wallet/pay/1"}'),
        (303, b""),
        (200, b"not json"),
        (200, b'{"id": "", "url": "http://wallet/pay/1"}'),
        (200, b'{"id": "1"}'),
        (200, b'{"id": "1", "url": "data:text/html,x"}'),
    ],
)
async def test_an_unreadable_creation_is_no_answer(status: int, content: bytes) -> None:
    client = mocked(status, content)
    try:
        with pytest.raises(NoAnswer):
            await client.create("r", Money(100, RUB), MERCHANT, "", SHOP)
    finally:
        await client.close()


@pytest.mark.parametrize(
    "content",
    [b'{"status": "done"}', b"{}", b'{"status": "paid", "account": 7}', b"[]"],
)
async def test_an_unreadable_status_is_no_answer(content: bytes) -> None:
    client = mocked(200, content)
    try:
        with pytest.raises(NoAnswer):
            await client.status("1")
    finally:
        await client.close()


@pytest.mark.parametrize("content", [b"{}", b'{"refunded": "yes"}', b'{"refunded": 1}'])
async def test_an_unreadable_refund_is_no_answer(content: bytes) -> None:
    client = mocked(200, content)
    try:
        with pytest.raises(NoAnswer):
            await client.refund("1", Money(100, RUB), "r")
    finally:
        await client.close()
