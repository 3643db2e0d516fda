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
``POST /wallet/pay/ID``              the form (``login``, ``password``, ``action`` =
                                     ``pay`` | ``cancel``) → 303 to the return URL with
                                     ``payment=ID`` added; wrong credentials → the page
                                     again with an error, the payment still pending
``GET /wallet/payments/ID``          ``{"status": "pending" | "paid" | "declined",
                                     "account": "d***o", "amount", "currency",
                                     "refunded"}``
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
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ips.domain.money import Money
from ips.processing.simulator import pages, webio
from ips.processing.simulator.wallet import (
    DeclineReason,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ReferenceConflict,
    WalletBooks,
    WrongCredentials,
)

log = logging.getLogger(__name__)

BRAND = "Demo Wallet"

_PAID = "The payment is made from your wallet. Return to the shop."
_DECLINED = {
    DeclineReason.INSUFFICIENT_FUNDS: "Your wallet holds too little for this payment.",
    DeclineReason.CANCELLED: "You cancelled the payment.",
}


class WalletSite:
    def __init__(self, wallet: WalletBooks) -> None:
        self._wallet = wallet

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/wallet/payments", self.create, methods=["POST"]),
            Route("/wallet/payments/{id}", self.status, methods=["GET"]),
            Route("/wallet/payments/{id}/refunds", self.refund, methods=["POST"]),
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
        payment = await self._wallet.payment(request.path_params["id"])
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
        if payment.status is not PaymentStatus.PENDING:
            return _over(payment)
        return _sign_in(payment, request.url.path)

    async def pay(self, request: Request) -> Response:
        payment_id = request.path_params["id"]
        fields = await webio.form(request)
        if fields.get("action") == "cancel":
            payment = await self._wallet.cancel(payment_id)
        else:
            login, password = fields.get("login", "").strip(), fields.get("password", "")
            try:
                payment = await self._wallet.pay(payment_id, login, password)
            except WrongCredentials:
                found = await self._wallet.payment(payment_id)
                assert found is not None
                error = "The login or the password is wrong. Please try again."
                return _sign_in(found, request.url.path, login=login, error=error)
        if payment is None:
            return _not_found()
        log.info("wallet payment %s: %s", payment.id, payment.reason or payment.status)
        return webio.see_other(_back(payment))


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


def _sign_in(payment: Payment, action: str, *, login: str = "", error: str = "") -> Response:
    html = pages.render(
        "wallet_pay.html",
        title="Sign in to pay",
        brand=BRAND,
        kind="wallet",
        summary=_summary(payment),
        action=action,
        amount=_amount(payment),
        login=login,
        error=error,
    )
    return webio.page(html)


def _over(payment: Payment) -> Response:
    paid = payment.status is PaymentStatus.PAID
    html = pages.render(
        "over.html",
        title="Payment made" if paid else "Payment declined",
        brand=BRAND,
        kind="wallet",
        summary=_summary(payment),
        message=_DECLINED[payment.reason] if payment.reason else _PAID,
        back=_back(payment),
    )
    return webio.page(html)


def _not_found() -> Response:
    return webio.page(pages.not_found(BRAND, "wallet", "payment"), status=404)
