"""Rendering of the payment pages: Jinja2 templates in the page's language, with the CSP nonce
of the request for the one script the pages use (they work without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import DomainError
from ips.domain.orders import Language, Order
from ips.web import i18n
from ips.web.i18n import N_, Words

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render
i18n.install(templates.env)
STATIC = Path(__file__).parent / "static"

FIELD_ERRORS: dict[str, str] = {
    "card_number": N_("Check the card number."),
    "expiry": N_("Check the expiry date: the card may have expired."),
    "cvc": N_("Check the CVC."),
    "cardholder": N_("Write the cardholder's name in Latin letters, as on the card."),
    "email": N_("Give a valid e-mail address."),
    "name": N_("Give your first and last name."),
    "phone": N_("Give your mobile phone number."),
}
"""The buyer's words for what a form got wrong, by the field."""

REQUEST_ERRORS: dict[str, str] = {
    "merchant_id": N_("The shop is not found: check Merchant_ID."),
    "merchant": N_("The shop does not take new orders at the moment."),
    "ordernumber": N_("The order number is missing or too long, or this order is already paid."),
    "amount": N_("The order's amount is missing or not valid."),
    "currency": N_("The order's currency is not supported."),
    "checkvalue": N_("The signature of the payment request (checkvalue) is wrong."),
    "delay": N_("The shop cannot take double-stage payments."),
    "recurring": N_("The terms of the recurring payments are not valid."),
    "means": N_("This way to pay is not available for the order."),
    "comment": N_("The order's comment is too long."),
    "url_return": N_("The address back to the shop is not valid."),
    "url_return_ok": N_("The address back to the shop is not valid."),
    "url_return_no": N_("The address back to the shop is not valid."),
    "ordermaxpoints": N_("The number of points is not valid."),
    "customernumber": N_("The buyer's number is not valid."),
}
"""What a refused payment request got wrong, in the payment pages' own words for a page in
another language than English: the domain's messages are English (and the English page
shows them, in the detail a shop's developer needs), and a page is in one language."""


def language_of(
    request: Request, order: Order | None = None, asked: Language | None = None
) -> Language:
    """``?lang=`` on the page, else the shop's choice (the order's, or ``asked`` by a payment
    request that made no order), else the browser's, else Russian."""
    chosen = i18n.chosen(request.query_params.get("lang", ""))
    if chosen is not None:
        return chosen
    if order is not None and order.language is not None:
        return order.language
    if asked is not None:
        return asked
    return i18n.preferred(request.headers.get("accept-language", "")) or i18n.RU


def page(
    request: Request, template: str, language: Language, status: int = 200, **context: Any
) -> Response:
    context |= i18n.context(language) | {"nonce": getattr(request.state, "csp_nonce", "")}
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language.value.lower()
    return response


def error_message(error: DomainError, language: Language) -> str:
    """The buyer's words for an error, by what it is about; else the error's own (English),
    translated when the catalogue has them."""
    words = Words(language)
    known = FIELD_ERRORS.get(error.field or "")
    if known:
        return words.gettext(known)
    if language is not i18n.EN and words.knows(error.message):
        return words.sentence(error.message)
    return error.message


def error_page(
    request: Request, error: DomainError, status: int = 400, order: Order | None = None
) -> Response:
    language = language_of(request, order)
    return page(
        request, "error.html", language, status=status, message=error_message(error, language)
    )


def refused_request_page(request: Request, error: DomainError, asked: Language | None) -> Response:
    """A payment request refused, in the language it ``asked`` for (else the browser's), all
    of it: the domain's messages are English, so a Russian page says what is wrong in its own
    words."""
    language = language_of(request, asked=asked)
    message = error_message(error, language)
    if language is not i18n.EN and (error.field or "") not in FIELD_ERRORS:
        said = REQUEST_ERRORS.get(error.field or "", N_("The shop's payment request is not valid."))
        message = Words(language).gettext(said)
    return page(request, "error.html", language, status=400, message=message)
