"""The Order Monitor, its CSV export, an order's page, and confirming and cancelling an
order after a confirmation step (the services behind ``charge.cfm`` and ``cancel.cfm``).

Every page is of the signed-in user's merchant: an order of another merchant is not found."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ips.domain.books import Books
from ips.domain.errors import DomainError, InvalidAmount, InvalidInput, LimitExceeded
from ips.domain.money import Money
from ips.domain.orders import CancelReason, OperationKind
from ips.domain.text import is_digits
from ips.services import accounts, monitor
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.order_details import OrderDetails, order_details
from ips.web.cabinet.chart import turnover_svg
from ips.web.cabinet.filters import Filters, read_filters
from ips.web.cabinet.session import (
    CabinetUser,
    may_act,
    posted,
)
from ips.web.cabinet.views import render, see_other, words
from ips.web.i18n import EN, N_, Words
from ips.web.params import client_ip
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")


PAGE_SIZE = 50


@router.get("/orders")
async def orders(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    try:
        filters = read_filters(request.query_params, signed.merchant)
        cursor = request.query_params.get("after") or None
        found = await monitor.list_orders(filters.filter, cursor, PAGE_SIZE, services.uow_factory)
        totals = await monitor.totals(filters.filter, services.uow_factory)
        charted = _chart_period(filters.filter, services.gateway.clock())
        turnover = await monitor.daily_turnover(charted, services.uow_factory)
    except InvalidInput as exc:
        return render(
            request, "orders.html", signed, status=400, error=exc, filters=None,
            typed=dict(request.query_params), page=None, totals=[], chart="",
        )  # fmt: skip
    return render(
        request,
        "orders.html",
        signed,
        error=None,
        filters=filters,
        typed=filters.typed | {"state": [s.value for s in filters.states]},
        page=found,
        next_url=_list_url("/cabinet/orders", filters, after=found.next_cursor),
        export_url=_list_url("/cabinet/orders.csv", filters),
        totals=totals,
        chart=_chart(turnover, signed, words(request)),
        chart_default=charted is not filters.filter,
        chart_days=CHART_DAYS,
    )


CHART_DAYS = 31
"""The days the chart shows when the filter names no period (a year of bars says little)."""


def _chart_period(filter: monitor.OrderFilter, now: datetime) -> monitor.OrderFilter:
    if filter.since or filter.until:
        return filter
    today = datetime.combine(now.date(), datetime.min.time(), now.tzinfo)
    return replace(filter, since=today - timedelta(days=CHART_DAYS - 1))


def _chart(turnover: list[monitor.TurnoverDay], signed: accounts.Signed, said: Words) -> str:
    """The chart of the merchant's default currency (or, without turnover in it, of the
    first one that has some)."""
    shown = signed.merchant.default_currency
    if turnover and all(day.currency != shown for day in turnover):
        shown = turnover[0].currency
    return turnover_svg([day for day in turnover if day.currency == shown], shown, said)


def _list_url(path: str, filters: Filters, after: str | None = None) -> str:
    items = filters.query() + ([("after", after)] if after else [])
    return f"{path}?{urlencode(items)}" if items else path


EXPORT_COLUMNS = ("billnumber", "ordernumber", "created (UTC)", "state", "amount", "currency",
                  "way of payment", "card", "paid in points")  # fmt: skip


@router.get("/orders.csv")
async def export(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    """The filtered list as CSV (UTF-8 with a byte-order mark, so spreadsheets read it as
    such), streamed a batch at a time."""
    try:
        filters = read_filters(request.query_params, signed.merchant)
    except InvalidInput as exc:
        message = words(request).sentence(exc.message)
        return render(request, "error.html", signed, status=400, message=message)
    rows = monitor.export_rows(filters.filter, services.uow_factory)
    return StreamingResponse(
        csv_pieces(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="orders.csv"',
            "Cache-Control": "no-store",
        },
    )


CHUNK = 64 * 1024
"""The CSV is sent in pieces of about this many characters, not a piece a row."""


async def csv_pieces(rows: AsyncIterator[monitor.OrderRow]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    async for row in rows:
        writer.writerow(
            (
                row.billnumber,
                _spreadsheet_safe(row.ordernumber),
                f"{row.created_at:%Y-%m-%d %H:%M:%S}",
                row.state.value,
                row.amount.format(),
                row.amount.currency.code,
                row.means.value if row.means else "",
                row.masked_pan,
                row.in_points.format() if row.in_points.minor else "",
            )
        )
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (the shop chose it, the staff opens it)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/orders/{billnumber}")
async def order_page(
    billnumber: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    details = await order_details(signed.merchant.merchant_id, billnumber, services.uow_factory)
    done = _done(details, request.query_params.get("done"), words(request))
    return _order(request, signed, details, done=done)


def _done(details: OrderDetails, number: str | None, said: Words) -> str:
    """What the operation just made did, said from the order itself (the address only
    names the operation, so a link cannot put words on the page)."""
    operation = next((op for op in details.operations if str(op.number) == number), None)
    if operation is None:
        return ""
    done = (
        N_("Confirmed %(amount)s: %(status)s")
        if operation.kind is OperationKind.CONFIRMATION
        else N_("Cancelled %(amount)s: %(status)s")
    )
    amount, status = said.money(operation.amount), said.name(operation.status)
    return said.gettext(done, amount=amount, status=status)


def _order(
    request: Request,
    signed: accounts.Signed,
    details: OrderDetails,
    *,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    books = details.order.books
    return render(
        request,
        "order.html",
        signed,
        status=status,
        details=details,
        order=details.order,
        books=books,
        may_confirm=signed.user.role.may_act and books is not None and books.unconfirmed > 0,
        may_cancel=signed.user.role.may_act and books is not None and books.cancellable > 0,
        done=done,
        error=error,
    )


ACTIONS = ("confirm", "cancel")


@router.get("/orders/{billnumber}/{action}")
async def action_page(
    billnumber: str, action: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    """The confirmation step before a confirmation or a cancellation."""
    if action not in ACTIONS:
        return _no_such_page(request, signed)
    may_act(signed)
    details = await order_details(signed.merchant.merchant_id, billnumber, services.uow_factory)
    return _action_form(request, signed, details, action)


def _action_form(
    request: Request,
    signed: accounts.Signed,
    details: OrderDetails,
    action: str,
    error: str = "",
    amount: str = "",
) -> Response:
    books = details.order.books
    most = _most(books, action)
    if books is None or most == 0:
        nothing = (
            N_("Nothing is left to confirm.")
            if action == "confirm"
            else N_("Nothing is left to cancel.")
        )
        return _order(request, signed, details, error=words(request).gettext(nothing), status=409)
    return render(
        request,
        "action.html",
        signed,
        status=400 if error else 200,
        order=details.order,
        action=action,
        most=books.money(most),
        amount=amount or words(request).typed(books.money(most)),
        reasons=[r for r in CancelReason if r is not CancelReason.HOLD_EXPIRED],
        error=error,
        seen=books.unconfirmed,
        once=secrets.token_urlsafe(24),
    )


@router.post("/orders/{billnumber}/{action}")
async def act(
    billnumber: str, action: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    if action not in ACTIONS:
        return _no_such_page(request, signed)
    form = await posted(request, signed)
    may_act(signed)
    details = await order_details(signed.merchant.merchant_id, billnumber, services.uow_factory)
    books = details.order.books
    amount = form.get("amount", "").strip().replace(",", ".")
    currency = books.currency.code if books else ""
    try:
        if action == "confirm":
            result = await confirm(
                Confirm(
                    billnumber, amount, currency, auto_deposit=form.get("release_rest") == "1",
                    client_ip=client_ip(request), unconfirmed=_seen(form.get("seen", "")),
                ),
                signed.caller, services.gateway,
            )  # fmt: skip
        else:
            result = await cancel(
                Cancel(
                    billnumber, amount, currency, reason=_reason(form.get("reason", "1")),
                    external_id=form.get("once", ""), client_ip=client_ip(request),
                ),
                signed.caller, services.gateway,
            )  # fmt: skip
    except DomainError as exc:
        most = books.money(_most(books, action)) if books else None
        error = _refusal(exc, action, most, words(request))
        return _action_form(request, signed, details, action, error, amount)
    done = {"done": str(result.operation.number)}
    return see_other(f"/cabinet/orders/{billnumber}?{urlencode(done)}")


def _most(books: Books | None, action: str) -> int:
    """The most that may be confirmed, or cancelled, of the order (minor units)."""
    if books is None:
        return 0
    return books.unconfirmed if action == "confirm" else books.cancellable


def _refusal(error: DomainError, action: str, most: Money | None, said: Words) -> str:
    """What the user is told of a confirmation or a cancellation refused: the domain's words,
    translated; when they carry values (which no catalogue holds), in another language than
    English the page's own words for what is wrong with the amount."""
    if said.language is EN or said.knows(error.message) or most is None:
        return said.sentence(error.message)
    if isinstance(error, InvalidAmount):
        return said.gettext(
            "Give the amount as a number like %(example)s.", example=said.typed(most)
        )
    if isinstance(error, LimitExceeded):
        limit = (
            N_("At most %(amount)s can be confirmed.")
            if action == "confirm"
            else N_("At most %(amount)s can be cancelled.")
        )
        return said.gettext(limit, amount=said.money(most))
    return said.sentence(error.message)


def _no_such_page(request: Request, signed: accounts.Signed) -> Response:
    message = words(request).gettext("No such page.")
    return render(request, "error.html", signed, status=404, message=message)


def _seen(value: str) -> int:
    """The hold the form showed: without it, the form is not one this page gave."""
    if not is_digits(value) or len(value) > 18:
        raise InvalidInput("the form has expired: open the page again and repeat")
    return int(value)


def _reason(value: str) -> CancelReason:
    try:
        reason = CancelReason(value)
    except ValueError:
        raise InvalidInput("unknown reason", field="reason") from None
    if reason is CancelReason.HOLD_EXPIRED:
        raise InvalidInput("unknown reason", field="reason")
    return reason
