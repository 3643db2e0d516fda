"""The Demo Wallet over HTTP: the API IPS calls and the page where the buyer pays.

===================================  =====================================================
``POST /wallet/payments``            JSON ``{"reference", "amount" (minor units),
                                     "currency" (letter code), "merchant_id",
                                     "description", "return_url"}`` → ``{"id": ID,
                                     "url": BASE/wallet/pay/ID}``; the same reference again
                                     → the same payment (409 when its merchant, amount or
                                     currency differ)
``GET /wallet/pay/ID``               the wallet's page: amount, merchant, description, a
                                     sign-in form (login, password), Pay and Cancel
``POST /wallet/pay/ID``              the form (``token``, ``login``, ``password``,
                                     ``action`` = ``pay`` | ``cancel``) → 303 to the
                                     return URL with ``payment=ID`` added; wrong
                                     credentials → the page again with an error (after a
                                     pause that grows; 429 once the login is locked), the
                                     payment still pending; without the page's token for
                                     this browser → 403, the page again, nothing changed
``GET /wallet/payments/ID``          ``{"status": "pending" | "paid" | "declined",
                                     "account": "d***o", "amount", "currency",
                                     "refunded"}``
``POST /wallet/payments/ID/cancel``   the merchant gives up a payment the buyer never
                                     finished: a pending one is declined, any other stays
                                     as it is → its status, as ``GET`` answers it
``POST /wallet/payments/ID/refunds``  JSON ``{"amount", "reference"}`` (and ``"currency"``,
                                     checked when given) → ``{"refunded": true}`` when given
                                     back (or given before under this reference), else
                                     ``{"refunded": false}``
===================================  =====================================================

Values: ``reference`` 1 to 64 printable ASCII characters without spaces, ``merchant_id`` 1 to
15 of them, ``description`` up to 512 characters and no control characters (line breaks,
tabs), ``amount`` 1 to 10^12 - 1 minor units, ``return_url`` an absolute http(s) URL without
credentials, up to 2000 characters. Errors of the API are ``{"error": "..."}``: 400 for a bad
request, 404 for an unknown id, 409 for a reference reused with other values.

The form is taken only from the page this browser was shown (``forms``); signing in is limited
per wallet login as IPS limits its own (``wallet``): a growing pause after 3 wrong passwords,
locked for 30 minutes at 10.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demobank import forms, pages, webio
from demobank.forms import FormGuard
from demobank.money import Money
from demobank.wallet import (
    DeclineReason,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ReferenceConflict,
    WalletBooks,
    WalletLocked,
    WrongCredentials,
)

log = logging.getLogger(__name__)

BRAND = "Demo Wallet"

_PAID = "The payment is made from your wallet. Return to the shop."
_DECLINED = {
    DeclineReason.INSUFFICIENT_FUNDS: "Your wallet holds too little for this payment.",
    DeclineReason.CANCELLED: "You cancelled the payment.",
}
_WRONG = "The login or the password is wrong. Please try again."
_LOCKED = "Too many wrong passwords: this wallet is locked for 30 minutes."

Sleep = Callable[[float], Awaitable[None]]
"""How a buyer is kept waiting after a wrong password (tests pass one that does not wait)."""


class WalletSite:
    def __init__(self, wallet: WalletBooks, guard: FormGuard, sleep: Sleep = asyncio.sleep) -> None:
        self._wallet = wallet
        self._guard = guard
        self._sleep = sleep

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/wallet/payments", self.create, methods=["POST"]),
            Route("/wallet/payments/{id}", self.status, methods=["GET"]),
            Route("/wallet/payments/{id}/refunds", self.refund, methods=["POST"]),
            Route("/wallet/payments/{id}/cancel", self.cancel, methods=["POST"]),
            Route("/wallet/pay/{id}", self.page, methods=["GET"], name="wallet_page"),
            Route("/wallet/pay/{id}", self.pay, methods=["POST"]),
        ]

    async def create(self, request: Request) -> Response:
        data = await webio.json_object(request)
        create = PaymentRequest(
            reference=webio.token(data, "reference", 64),
            amount=Money(webio.amount(data), webio.currency_code(data)),
            merchant_id=webio.token(data, "merchant_id", 15),
            description=webio.text(data, "description", 512, empty=True),
            return_url=webio.return_url(data),
        )
        try:
            payment = await self._wallet.create(create)
        except ReferenceConflict:
            raise webio.Refused(409, "this reference names another payment") from None
        return webio.answer(
            {"id": payment.id, "url": str(request.url_for("wallet_page", id=payment.id))}
        )

    async def status(self, request: Request) -> Response:
        return _state(await self._wallet.payment(request.path_params["id"]))

    async def cancel(self, request: Request) -> Response:
        return _state(await self._wallet.cancel(request.path_params["id"]))

    async def refund(self, request: Request) -> Response:
        data = await webio.json_object(request)
        minor, reference = webio.amount(data), webio.token(data, "reference", 64)
        payment_id = request.path_params["id"]
        payment = await self._wallet.payment(payment_id)
        if payment is None:
            return webio.refusal(404, "no such payment")
        if "currency" in data and webio.currency_code(data) != payment.amount.currency:
            return webio.answer({"refunded": False})
        refunded = await self._wallet.refund(payment_id, minor, reference)
        return webio.answer({"refunded": bool(refunded)})

    async def page(self, request: Request) -> Response:
        payment = await self._wallet.payment(request.path_params["id"])
        if payment is None:
            return _not_found()
        return self._page(request, payment)

    async def pay(self, request: Request) -> Response:
        fields = await webio.form(request)
        found = await self._wallet.payment(request.path_params["id"])
        if found is None:
            return _not_found()
        login = fields.get("login", "").strip()
        if not self._guard.passes(request, _form(found), fields.get("token", "")):
            return self._page(request, found, login=login, error=forms.STALE, status=403)
        if fields.get("action") == "cancel":
            payment = await self._wallet.cancel(found.id)
        else:
            try:
                payment = await self._wallet.pay(found.id, login, fields.get("password", ""))
            except WrongCredentials as wrong:
                if wrong.pause:
                    await self._sleep(wrong.pause.total_seconds())
                return self._page(request, found, login=login, error=_WRONG, invalid=True)
            except WalletLocked:
                return self._page(request, found, login=login, error=_LOCKED, status=429)
        if payment is None:
            return _not_found()
        log.info("wallet payment %s: %s", payment.id, payment.reason or payment.status)
        return webio.see_other(_back(payment))

    def _page(
        self,
        request: Request,
        payment: Payment,
        *,
        login: str = "",
        error: str = "",
        invalid: bool = False,
        status: int = 200,
    ) -> Response:
        """The sign-in form while the payment waits, with a token for this browser; else how
        the payment ended."""
        if payment.status is not PaymentStatus.PENDING:
            return _over(payment, error=error, status=status)
        browser = self._guard.browser(request)
        html = pages.render(
            "wallet_pay.html",
            title="Sign in to pay",
            brand=BRAND,
            kind="wallet",
            summary=_summary(payment),
            action=request.url.path,
            token=self._guard.token(_form(payment), browser),
            amount=_amount(payment),
            login=login,
            error=error,
            invalid=invalid,
        )
        return forms.keep_browser(webio.page(html, status=status), request, browser)


def _form(payment: Payment) -> str:
    return f"wallet:{payment.id}"


def _state(payment: Payment | None) -> Response:
    """A payment as the API shows it."""
    if payment is None:
        return webio.refusal(404, "no such payment")
    return webio.answer(
        {
            "status": payment.status.value,
            "account": payment.account,
            "amount": payment.amount.minor,
            "currency": payment.amount.currency.code,
            "refunded": payment.refunded.minor,
        }
    )


def _summary(payment: Payment) -> list[tuple[str, str]]:
    rows = [
        ("Merchant", payment.merchant_id),
        ("Amount", _amount(payment)),
    ]
    return rows + ([("For", payment.description)] if payment.description else [])


def _amount(payment: Payment) -> str:
    return f"{payment.amount.format()} {payment.amount.currency.code}"


def _back(payment: Payment) -> str:
    return webio.with_parameter(payment.return_url, "payment", payment.id)


def _over(payment: Payment, *, error: str = "", status: int = 200) -> Response:
    paid = payment.status is PaymentStatus.PAID
    html = pages.render(
        "over.html",
        title="Payment made" if paid else "Payment declined",
        brand=BRAND,
        kind="wallet",
        summary=_summary(payment),
        message=_DECLINED[payment.reason] if payment.reason else _PAID,
        back=_back(payment),
        error=error,
    )
    return webio.page(html, status=status)


def _not_found() -> Response:
    return webio.page(pages.not_found(BRAND, "wallet", "payment"), status=404)
