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
from ips.web.pages import i18n

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render
STATIC = Path(__file__).parent / "static"

FIELD_ERRORS: dict[str, dict[Language, str]] = {
    "card_number": {i18n.EN: "Check the card number.", i18n.RU: "Проверьте номер карты."},
    "expiry": {
        i18n.EN: "Check the expiry date: the card may have expired.",
        i18n.RU: "Проверьте срок действия: возможно, он истёк.",
    },
    "cvc": {i18n.EN: "Check the CVC.", i18n.RU: "Проверьте код CVC."},
    "cardholder": {
        i18n.EN: "Write the cardholder's name in Latin letters, as on the card.",
        i18n.RU: "Укажите имя владельца латиницей, как на карте.",
    },
    "email": {i18n.EN: "Give a valid e-mail address.", i18n.RU: "Укажите адрес почты."},
    "name": {i18n.EN: "Give your first and last name.", i18n.RU: "Укажите имя и фамилию."},
    "phone": {i18n.EN: "Give your mobile phone number.", i18n.RU: "Укажите номер телефона."},
}

REQUEST_ERRORS_RU: dict[str, str] = {
    "merchant_id": "Магазин не найден: проверьте Merchant_ID.",
    "merchant": "Магазин сейчас не принимает новые заказы.",
    "ordernumber": "Номер заказа не указан, слишком длинный или этот заказ уже оплачен.",
    "amount": "Сумма заказа не указана или указана неверно.",
    "currency": "Валюта заказа не поддерживается.",
    "checkvalue": "Подпись запроса на оплату (checkvalue) неверна.",
    "delay": "Магазин не может проводить двухстадийные платежи.",
    "recurring": "Условия повторных платежей указаны неверно.",
    "means": "Этот способ оплаты недоступен для заказа.",
    "comment": "Комментарий к заказу слишком длинный.",
    "url_return": "Адрес возврата в магазин указан неверно.",
    "url_return_ok": "Адрес возврата в магазин указан неверно.",
    "url_return_no": "Адрес возврата в магазин указан неверно.",
    "ordermaxpoints": "Число баллов указано неверно.",
    "customernumber": "Номер покупателя указан неверно.",
}
"""The payment pages' own words, in Russian, for what a refused payment request got wrong:
the domain's messages are English, and a page is in one language."""


def language_of(
    request: Request, order: Order | None = None, asked: Language | None = None
) -> Language:
    """``?lang=`` on the page, else the shop's choice (the order's, or ``asked`` by a payment
    request that made no order), else the browser's, else Russian."""
    chosen = request.query_params.get("lang", "").upper()
    if chosen in Language.__members__:
        return Language(chosen)
    if order is not None and order.language is not None:
        return order.language
    if asked is not None:
        return asked
    return i18n.preferred(request.headers.get("accept-language", "")) or i18n.RU


def page(
    request: Request, template: str, language: Language, status: int = 200, **context: Any
) -> Response:
    context |= {
        "lang": language,
        "other_lang": i18n.EN if language is i18n.RU else i18n.RU,
        "t": lambda key, **values: i18n.text(key, language, **values),
        "money": lambda value: i18n.amount(value, language),
        "nonce": getattr(request.state, "csp_nonce", ""),
    }
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language.value.lower()
    return response


def error_message(error: DomainError, language: Language) -> str:
    """The buyer's words for an error, by what it is about."""
    known = FIELD_ERRORS.get(error.field or "")
    return known[language] if known else error.message


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
    if language is i18n.RU and (error.field or "") not in FIELD_ERRORS:
        message = REQUEST_ERRORS_RU.get(error.field or "", i18n.text("error.request", language))
    return page(request, "error.html", language, status=400, message=message)
