"""The ACS over HTTP: the API IPS calls and the challenge page the buyer answers.

=====================================  ===================================================
``GET /3ds/ranges``                    the card ranges that take part (EMV 3-D Secure's
                                       "card range data"): ``{"serial": S, "ranges":
                                       [{"start": PAN, "end": PAN}, ...]}``; with
                                       ``?serial=S`` of the ranges published now, only
                                       ``{"serial": S}`` (nothing changed)
``POST /3ds/enroll``                   JSON ``{"pan", "amount" (minor units), "currency"
                                       (letter code), "merchant_id", "return_url"}`` →
                                       ``{"enrolled": false}``, or ``{"enrolled": true,
                                       "transaction": ID, "url": BASE/3ds/challenge/ID}``
``GET /3ds/challenge/ID``              the challenge page: the masked card, the amount, the
                                       merchant, a one-time code, Submit and Cancel
``POST /3ds/challenge/ID``             the form (``token``, ``code``, ``action`` =
                                       ``submit`` | ``cancel``) → 303 to the return URL
                                       with ``transaction=ID`` added to its query string;
                                       without the page's token for this browser → 403,
                                       the page again with an error, nothing changed
``GET /3ds/result/ID``                 ``{"status": "Y" | "N" | "U", "cavv": "..."}``
=====================================  ===================================================

Values: ``pan`` 12 to 19 digits passing the Luhn check, ``merchant_id`` 1 to 15 printable ASCII
characters without spaces, ``amount`` 1 to 10^12 - 1 minor units, ``return_url`` an absolute
http(s) URL without credentials, up to 2000 characters. Errors of the API are
``{"error": "..."}``: 400 for a bad request, 404 for an unknown id.
The card number arrives only in the enrollment's body and is never logged.

Guessing the code is bounded by the challenge: one answer each (a wrong code fails it for
good, ``acs``), and only from the page this browser was shown (``forms``), so another site
cannot answer or cancel a buyer's challenge.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demobank import forms, pages, webio
from demobank.acs import Acs, AcsOutcome, AcsStatus, AcsTransaction, EnrollRequest
from demobank.forms import FormGuard
from demobank.money import Money
from paywire.luhn import luhn_valid

log = logging.getLogger(__name__)

BRAND = "Demo Bank · 3-D Secure"

_OVER = {
    AcsOutcome.AUTHENTICATED: "You confirmed the payment. Return to the shop to finish it.",
    AcsOutcome.WRONG_CODE: "The code was wrong, so the payment was not confirmed.",
    AcsOutcome.CANCELLED: "You cancelled the confirmation, so the payment was not confirmed.",
    AcsOutcome.EXPIRED: "The time to confirm the payment ran out.",
}


class AcsSite:
    def __init__(self, acs: Acs, guard: FormGuard) -> None:
        self._acs = acs
        self._guard = guard

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/3ds/ranges", self.ranges, methods=["GET"]),
            Route("/3ds/enroll", self.enroll, methods=["POST"]),
            Route("/3ds/challenge/{id}", self.challenge, methods=["GET"], name="challenge"),
            Route("/3ds/challenge/{id}", self.answer, methods=["POST"]),
            Route("/3ds/result/{id}", self.result, methods=["GET"]),
        ]

    async def ranges(self, request: Request) -> Response:
        serial = self._acs.serial
        if request.query_params.get("serial") == serial:
            return webio.answer({"serial": serial})
        listed = [{"start": r.start, "end": r.end} for r in self._acs.card_ranges]
        return webio.answer({"serial": serial, "ranges": listed})

    async def enroll(self, request: Request) -> Response:
        data = await webio.json_object(request)
        pan = data.get("pan")
        if not (isinstance(pan, str) and pan.isascii() and pan.isdigit() and 12 <= len(pan) <= 19):
            raise webio.Refused(400, "pan is a card number of 12 to 19 digits")
        if not luhn_valid(pan):
            raise webio.Refused(400, "pan fails the Luhn check")
        enroll = EnrollRequest(
            pan=pan,
            amount=Money(webio.amount(data), webio.currency_code(data)),
            merchant_id=webio.token(data, "merchant_id", 15),
            return_url=webio.return_url(data),
        )
        started = await self._acs.enroll(enroll)
        if started is None:
            return webio.answer({"enrolled": False})
        log.info(
            "3-D Secure challenge %s for %s, %s", started.id, started.masked_pan, started.amount
        )
        return webio.answer(
            {
                "enrolled": True,
                "transaction": started.id,
                "url": str(request.url_for("challenge", id=started.id)),
            }
        )

    async def challenge(self, request: Request) -> Response:
        found = await self._acs.transaction(request.path_params["id"])
        if found is None:
            return _not_found()
        return self._page(request, found)

    async def answer(self, request: Request) -> Response:
        fields = await webio.form(request)
        found = await self._acs.transaction(request.path_params["id"])
        if found is None:
            return _not_found()
        if not self._guard.passes(request, _form(found), fields.get("token", "")):
            return self._page(request, found, error=forms.STALE, status=403)
        code = None if fields.get("action") == "cancel" else fields.get("code", "").strip()
        answered = await self._acs.answer(found.id, code)
        if answered is None:
            return _not_found()
        log.info("3-D Secure challenge %s: %s", answered.id, answered.outcome)
        return webio.see_other(_back(answered))

    def _page(
        self, request: Request, found: AcsTransaction, *, error: str = "", status: int = 200
    ) -> Response:
        """The challenge while it waits, with a token for this browser; else how it ended."""
        if not found.pending:
            return _over(found, error=error, status=status)
        browser = self._guard.browser(request)
        html = pages.render(
            "acs_challenge.html",
            title="Confirm your payment",
            brand=BRAND,
            kind="acs",
            summary=_summary(found),
            action=request.url.path,
            token=self._guard.token(_form(found), browser),
            error=error,
        )
        return forms.keep_browser(webio.page(html, status=status), request, browser)

    async def result(self, request: Request) -> Response:
        found = await self._acs.transaction(request.path_params["id"])
        if found is None:
            return webio.refusal(404, "no such 3-D Secure transaction")
        return webio.answer({"status": found.status.value, "cavv": found.cavv})


def _form(found: AcsTransaction) -> str:
    return f"acs:{found.id}"


def _summary(found: AcsTransaction) -> list[tuple[str, str]]:
    return [
        ("Merchant", found.merchant_id),
        ("Amount", f"{found.amount.format()} {found.amount.currency.code}"),
        ("Card", found.masked_pan),
    ]


def _back(found: AcsTransaction) -> str:
    return webio.with_parameter(found.return_url, "transaction", found.id)


def _over(found: AcsTransaction, *, error: str = "", status: int = 200) -> Response:
    assert found.outcome is not None
    title = (
        "Payment confirmed" if found.status is AcsStatus.AUTHENTICATED else "Payment not confirmed"
    )
    html = pages.render(
        "over.html",
        title=title,
        brand=BRAND,
        kind="acs",
        summary=_summary(found),
        message=_OVER[found.outcome],
        back=_back(found),
        error=error,
    )
    return webio.page(html, status=status)


def _not_found() -> Response:
    return webio.page(pages.not_found(BRAND, "acs", "confirmation"), status=404)
