"""The buyer's pages: the choice of the way to pay, the card form, the wallet, the returns
from the issuer's 3-D Secure page and from the wallet, and the result.

Every form, and every way back from the issuer or the wallet, carries a token bound to the
order and to the browser it was given to (``web/browser.py``). A form from another browser is
shown again, with a new token; a return from another browser (the bank's app may open the
link in one) asks the buyer to continue there, with a button, before anything is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.cards import Card, Secret
from ips.domain.errors import (
    DomainError,
    InvalidCard,
    InvalidInput,
    MissingInput,
    NotFound,
    Refused,
)
from ips.domain.orders import Buyer, Language, Operation, OperationKind, Order, PaymentMeans
from ips.domain.points import parse_account, parse_account_number, parse_points
from ips.domain.states import OperationStatus, OrderState
from ips.domain.text import is_digits
from ips.logs.context import about
from ips.protocol.messages import texts
from ips.services import authentication
from ips.services.choice import ChooseMeans, choose_means
from ips.services.gateway import Gateway
from ips.services.kept_cards import remove_kept_card
from ips.services.orders import OrderView, order_view
from ips.services.payments import (
    PayByCard,
    PaymentStep,
    PayWithKeptCard,
    pay_by_card,
    pay_with_kept_card,
)
from ips.services.points import PointsPart, pay_with_points
from ips.services.wallet_payments import PayByWallet, complete_wallet_payment, pay_by_wallet
from ips.web.browser import browser, sent_from_this_browser
from ips.web.i18n import N_, Words
from ips.web.pages.views import error_message, error_page, language_of, page
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices
from paywire.luhn import luhn_valid


async def _about_the_order(request: Request) -> None:
    """Every log line of a page's request is about its order (``logs.context``): the
    billnumber of its path, when it may be one and cannot be a card number (new billnumbers
    fail the Luhn check; the services name an older one once they find its order)."""
    billnumber = request.path_params.get("billnumber", "")
    if is_digits(billnumber) and len(billnumber) <= 20 and not luhn_valid(billnumber):
        about(billnumber=billnumber)


router = APIRouter(dependencies=[Depends(_about_the_order)])

FORMS = {PaymentMeans.CARD: "card", PaymentMeans.WALLET: "wallet"}
RETURNS = {PaymentMeans.CARD: "returned_from_3ds", PaymentMeans.WALLET: "returned_from_wallet"}
"""The route the issuer's 3-D Secure page, or the wallet's, sends the buyer back to."""


POINTS_FIELDS = frozenset({"points", "points_account", "points_pin"})


def _form_subject(billnumber: str) -> str:
    return f"pay:{billnumber}"


def _return_subject(billnumber: str) -> str:
    return f"return:{billnumber}"


async def _order_view(billnumber: str, services: AppServices) -> OrderView:
    """The order of the page; ``NotFound`` becomes the 404 page (``web.app``)."""
    return await order_view(billnumber, services.gateway)


PageOrder = Annotated[OrderView, Depends(_order_view)]


@router.get("/pay/{billnumber}")
async def choice(request: Request, services: AppServices, view: PageOrder) -> Response:
    """The ways to pay; the only one's form at once."""
    unavailable = _unavailable(request, view)
    if unavailable is not None:
        return unavailable
    ways = _ways(view.order)
    if len(ways) == 1:
        [means] = ways
        return _form(request, view, services, means)
    here = browser(request)
    response = page(
        request,
        "choice.html",
        language_of(request, view.order),
        order=view.order,
        merchant=view.merchant,
        quote=view.quote,
        means=[FORMS[m] for m in (PaymentMeans.CARD, PaymentMeans.WALLET) if m in view.order.means],
        token=here.token(services.tokens, _form_subject(view.order.billnumber)),
        refuse=_return_url(view.order, refused=True),
        declined=_declined(view, language_of(request, view.order)),
    )
    return here.remember(request, response)


@router.post("/pay/{billnumber}/choose")
async def choose(billnumber: str, request: Request, services: AppServices) -> Response:
    """The buyer's choice of the way to pay: its payment operation is created, then its form
    shown (or the result, when the order may not be paid now); a choice from another browser,
    or of a way not offered, shows the choice again."""
    try:
        form = await read_params(request)
    except InvalidInput:
        form = {}
    means = {name: m for m, name in FORMS.items()}.get(form.get("means", ""))
    subject, token = _form_subject(billnumber), form.get("token", "")
    if means is None or not sent_from_this_browser(request, services.tokens, subject, token):
        return RedirectResponse(f"/pay/{billnumber}", status_code=303)
    try:
        await choose_means(ChooseMeans(billnumber, means, client_ip(request)), services.gateway)
    except Refused:
        return RedirectResponse(f"/pay/{billnumber}", status_code=303)
    return RedirectResponse(f"/pay/{billnumber}/{FORMS[means]}", status_code=303)


@router.get("/pay/{billnumber}/card")
async def card_form(request: Request, services: AppServices, view: PageOrder) -> Response:
    return _unavailable(request, view) or _form(request, view, services, PaymentMeans.CARD)


@router.get("/pay/{billnumber}/wallet")
async def wallet_form(request: Request, services: AppServices, view: PageOrder) -> Response:
    return _unavailable(request, view) or _form(request, view, services, PaymentMeans.WALLET)


@router.post("/pay/{billnumber}/card")
async def pay_card(billnumber: str, request: Request, services: AppServices) -> Response:
    form = await _sent_form(request, services, billnumber, PaymentMeans.CARD)
    if isinstance(form, Response):
        return form
    way_back = _way_back(request, services, billnumber, PaymentMeans.CARD)
    try:
        if "kept_card" in form:
            kept = PayWithKeptCard(
                billnumber,
                _kept_card_id(form["kept_card"]),
                form.get("cvc", ""),
                client_ip(request),
                way_back,
                _buyer(form),
            )
            step = await pay_with_kept_card(kept, services.gateway)
        else:
            card = Card.parse(
                number=form.get("card_number", ""),
                month=form.get("exp_month", ""),
                year=form.get("exp_year", ""),
                cvc=form.get("cvc", ""),
                holder=form.get("cardholder", ""),
                today=services.gateway.clock().date(),
            )
            paying = PayByCard(
                billnumber,
                card,
                client_ip(request),
                return_url=way_back,
                buyer=_buyer(form),
                keep_card=form.get("keep_card") == "1",
                points_account=parse_account_number(form.get("points_account", "")),
            )
            step = await _pay(paying, pay_by_card, form, request, services)
    except DomainError as exc:
        return await _refused(request, services, billnumber, PaymentMeans.CARD, exc, form)
    return _go_on(step)


@router.post("/pay/{billnumber}/kept/{card_id}/remove")
async def remove_kept(
    billnumber: str, card_id: str, request: Request, services: AppServices
) -> Response:
    form = await _sent_form(request, services, billnumber, PaymentMeans.CARD)
    if isinstance(form, Response):
        return form
    try:
        await remove_kept_card(billnumber, _kept_card_id(card_id), services.gateway)
    except DomainError as exc:
        return await _refused(request, services, billnumber, PaymentMeans.CARD, exc, form)
    return RedirectResponse(f"/pay/{billnumber}/card", status_code=303)


def _kept_card_id(text: str) -> int:
    if not (is_digits(text) and len(text) <= 18):
        raise InvalidInput("no such kept card", field="kept_card")
    return int(text)


@router.post("/pay/{billnumber}/wallet")
async def pay_wallet(billnumber: str, request: Request, services: AppServices) -> Response:
    form = await _sent_form(request, services, billnumber, PaymentMeans.WALLET)
    if isinstance(form, Response):
        return form
    paying = PayByWallet(
        billnumber,
        _way_back(request, services, billnumber, PaymentMeans.WALLET),
        client_ip(request),
        _buyer(form),
    )
    try:
        step = await _pay(paying, pay_by_wallet, form, request, services)
    except DomainError as exc:
        return await _refused(request, services, billnumber, PaymentMeans.WALLET, exc, form)
    return _go_on(step)


@router.api_route("/pay/{billnumber}/3ds", methods=["GET", "POST"], name="returned_from_3ds")
async def returned_from_3ds(billnumber: str, request: Request, services: AppServices) -> Response:
    """Back from the issuer's page, which added ``transaction`` (its check's reference)."""
    back = await _returned(request, services, billnumber)
    if isinstance(back, Response):
        return back
    reference = back.get("transaction", "")
    return _go_on(await authentication.complete(billnumber, reference, services.gateway))


@router.api_route(
    "/pay/{billnumber}/wallet/return", methods=["GET", "POST"], name="returned_from_wallet"
)
async def returned_from_wallet(
    billnumber: str, request: Request, services: AppServices
) -> Response:
    back = await _returned(request, services, billnumber)
    if isinstance(back, Response):
        return back
    return _go_on(await complete_wallet_payment(billnumber, services.gateway))


@router.get("/pay/{billnumber}/result")
async def result(request: Request, view: PageOrder) -> Response:
    """The outcome of paying; after a decline, another attempt while one is left, else on to
    the shop's page for an unpaid order (``URL_RETURN_NO``) when it gave one."""
    outcome = _outcome(view)
    if outcome == "declined" and not view.payable and (shop := _return_url(view.order)):
        return RedirectResponse(shop, status_code=303)
    payment = _last_payment(view)
    return page(
        request,
        "result.html",
        language_of(request, view.order),
        order=view.order,
        merchant=view.merchant,
        payment=payment,
        outcome=outcome,
        reason=_reason(payment, language_of(request, view.order)),
        retry=view.payable and outcome == "declined",
        attempts_left=view.attempts_left,
        back=_return_url(view.order, refused=view.payable),
    )


def _way_back(request: Request, services: AppServices, billnumber: str, means: PaymentMeans) -> str:
    """The address the issuer or the wallet sends the buyer back to, with a token bound to
    the browser that sent the form."""
    token = browser(request).token(services.tokens, _return_subject(billnumber))
    route = request.url_for(RETURNS[means], billnumber=billnumber)
    return str(route.include_query_params(token=token))


async def _returned(
    request: Request, services: AppServices, billnumber: str
) -> dict[str, str] | Response:
    """The parameters of a return, when it comes back to the browser that left (or the buyer
    pressed Continue in this one); else the page that asks the buyer to continue here."""
    try:
        params = await read_params(request)
    except InvalidInput:
        params = {}
    subject = _return_subject(billnumber)
    if sent_from_this_browser(request, services.tokens, subject, params.get("token", "")):
        return params
    view = await order_view(billnumber, services.gateway)
    here = browser(request)
    response = page(
        request,
        "continue.html",
        language_of(request, view.order),
        status=200 if request.method == "GET" else 403,
        order=view.order,
        merchant=view.merchant,
        action=request.url.path,
        fields={name: params[name] for name in ("transaction", "payment") if name in params},
        token=here.token(services.tokens, subject),
    )
    return here.remember(request, response)


def _unavailable(request: Request, view: OrderView) -> Response | None:
    """The page to show instead of a form: the result, once paying has begun or ended; an
    error, when the order's currency cannot be paid now."""
    if not view.payable:
        return RedirectResponse(f"/pay/{view.order.billnumber}/result", status_code=303)
    if view.quote is None:
        language = language_of(request, view.order)
        message = Words(language).gettext(
            "Payments in %(currency)s are not possible at the moment.",
            currency=view.order.amount.currency.code,
        )
        return page(request, "error.html", language, status=409, message=message)
    return None


async def _sent_form(
    request: Request, services: AppServices, billnumber: str, means: PaymentMeans
) -> dict[str, str] | Response:
    """The form sent, when it is one the page gave out to this browser; else the form again.
    The order is read only then: a form that is sent pays with one read of it, under its
    lock (``begin_payment``)."""
    try:
        form = await read_params(request)
    except InvalidInput as exc:
        return _form(request, await _order_view(billnumber, services), services, means, exc)
    if not sent_from_this_browser(
        request, services.tokens, _form_subject(billnumber), form.get("token", "")
    ):
        view = await _order_view(billnumber, services)
        expired = InvalidInput(N_("The page has expired. Please try again."))
        return _form(request, view, services, means, expired)
    return form


async def _refused(
    request: Request,
    services: AppServices,
    billnumber: str,
    means: PaymentMeans,
    error: DomainError,
    form: dict[str, str],
) -> Response:
    """What a form the payment refused gets: the form again, with what to correct; the page
    of ways to pay, when this one is not offered; else an error page. An order that does not
    exist is the 404 page (``web.app``)."""
    if isinstance(error, NotFound):
        raise error
    if isinstance(error, Refused) and error.field == "means":
        return RedirectResponse(f"/pay/{billnumber}", status_code=303)
    view = await _order_view(billnumber, services)
    if isinstance(error, InvalidCard | MissingInput) or error.field in POINTS_FIELDS:
        return _form(request, view, services, means, error, form)
    return error_page(request, error, 409, view.order)


def _form(
    request: Request,
    view: OrderView,
    services: AppServices,
    means: PaymentMeans,
    error: DomainError | None = None,
    sent: dict[str, str] | None = None,
) -> Response:
    language = language_of(request, view.order)
    here = browser(request)
    kept = {
        name: (sent or {}).get(name, "")
        for name in ("exp_month", "exp_year", "cardholder", "email", "firstname", "lastname",
                     "phone", "points_account", "points")
    }  # fmt: skip
    response = page(
        request,
        f"{FORMS[means]}.html",
        language,
        status=400 if error else 200,
        order=view.order,
        merchant=view.merchant,
        quote=view.quote,
        token=here.token(services.tokens, _form_subject(view.order.billnumber)),
        error=error_message(error, language) if error else "",
        error_field=error.field if error else None,
        kept=kept,
        asked=_asked(view),
        others=len(_ways(view.order)) > 1,
        refuse=_return_url(view.order, refused=True),
        declined=_declined(view, language),
        kept_cards=view.kept_cards,
        points=view.points,
        accrual=view.accrual if means is PaymentMeans.CARD else 0,
        card_on_file=view.card_on_file,
    )
    return here.remember(request, response)


def _asked(view: OrderView) -> list[str]:
    """The buyer's data the merchant requires and the request did not carry."""
    buyer, required = view.order.buyer, {f.value for f in view.merchant.required_fields}
    asked = []
    if "email" in required and not buyer.email:
        asked.append("email")
    if "name" in required and not (buyer.firstname and buyer.lastname):
        asked += ["firstname", "lastname"]
    if "phone" in required and not buyer.mobile_phone:
        asked.append("phone")
    return asked


Paying = TypeVar("Paying", PayByCard, PayByWallet)


async def _pay(
    paying: Paying,
    pay: Callable[[Paying, Gateway], Awaitable[PaymentStep]],
    form: dict[str, str],
    request: Request,
    services: AppServices,
) -> PaymentStep:
    """Pays as ``paying`` says — the rest of the order, beside the points the form names."""
    part = _points_part(form)
    if part is None:
        return await pay(paying, services.gateway)
    return await pay_with_points(
        paying.billnumber,
        part,
        lambda points: pay(replace(paying, beside=points), services.gateway),
        services.gateway,
        client_ip(request),
        paying.buyer,
    )


def _ways(order: Order) -> frozenset[PaymentMeans]:
    """The ways to pay the buyer chooses from: points pay beside one of them."""
    return order.means - {PaymentMeans.POINTS}


def _points_part(form: dict[str, str]) -> PointsPart | None:
    """The points the buyer pays part of the order with, if any."""
    points = parse_points(form.get("points", ""))
    if not points:
        return None
    account, pin = parse_account(form.get("points_account", ""), form.get("points_pin", ""))
    return PointsPart(account, Secret(pin), points)


def _buyer(form: dict[str, str]) -> Buyer:
    return Buyer(
        email=form.get("email", ""),
        firstname=form.get("firstname", ""),
        lastname=form.get("lastname", ""),
        mobile_phone=form.get("phone", ""),
    )


def _go_on(step: PaymentStep) -> Response:
    """Where the buyer goes after a step: another party's page, the shop, or the result. After
    a decline, back to the choice of the way to pay, which shows why and offers another
    attempt when one is left — or, when none is, sends the buyer on to the shop (``result``)."""
    if step.go_to:
        return RedirectResponse(step.go_to, status_code=303)
    order = step.order
    if order.state is OrderState.DECLINED:
        return RedirectResponse(f"/pay/{order.billnumber}", status_code=303)
    if order.state is OrderState.IN_PROCESS:
        return RedirectResponse(f"/pay/{order.billnumber}/result", status_code=303)
    return RedirectResponse(
        _return_url(order) or f"/pay/{order.billnumber}/result", status_code=303
    )


def _outcome(view: OrderView) -> str:
    """What the result page tells the buyer."""
    state = view.order.state
    if state in (OrderState.CANCELED, OrderState.PARTIAL_CANCELED):
        return "cancelled"
    if state.is_paid:
        return "paid"
    if state is OrderState.IN_PROCESS:
        return "unpaid" if view.payable else "waiting"
    return "expired" if state is OrderState.TIMEOUT else "declined"


def _last_payment(view: OrderView) -> Operation | None:
    """The payment that began last (one only chosen tells nothing yet); of points and the
    payment of the rest beside them, the latter."""
    begun = [op for op in view.operations if op.kind is OperationKind.PAYMENT and op.begun_at]
    return max(
        begun, key=lambda op: (op.begun_at, op.means is not PaymentMeans.POINTS), default=None
    )


@dataclass(frozen=True)
class _Declined:
    """What the payment pages say of the attempt declined before this one."""

    reason: str
    next: str
    left: int


def _declined(view: OrderView, language: Language) -> _Declined | None:
    """After a declined attempt, also once the buyer chose the way of the next."""
    last = _last_payment(view)
    if view.order.state.is_paid or last is None or last.status is OperationStatus.IN_PROCESS:
        return None
    reason, next_step = _reason(last, language)
    return _Declined(reason, next_step, view.attempts_left)


POINTS_REFUSED = {
    "AS101": N_("The points account number or its PIN is wrong."),
    "AS102": N_("The points account holds too few points."),
    "AS100": N_("The points program refused: the account is blocked or locked for a while."),
    "AS998": N_("The points program did not answer."),
}
"""Why the points program refused, in the buyer's words, by the response code."""


def _reason(payment: Operation | None, language: Language) -> tuple[str, str]:
    """Why a payment was declined, and what to do next, in the buyer's words."""
    if payment is None or payment.response_code is None:
        return "", ""
    refused = POINTS_REFUSED.get(payment.response_code.value)
    if payment.means is PaymentMeans.POINTS and refused is not None:
        words = Words(language)
        return words.gettext(refused), words.gettext(
            "Pay again, with other points or without them."
        )
    said = texts(payment.response_code, language)
    return said.customer_message, said.recommendation


def _return_url(order: Order, *, refused: bool = False) -> str:
    """The shop's page for this outcome, with ``billnumber``, ``ordernumber`` and
    ``payerdenial`` (``1``: the buyer chose to go back without paying) added to its query."""
    url = order.return_urls.after(order.state.is_paid and not refused)
    if not url:
        return ""
    parts = urlsplit(url)
    extra = urlencode(
        {
            "billnumber": order.billnumber,
            "ordernumber": order.ordernumber,
            "payerdenial": "1" if refused else "0",
        }
    )
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
