"""The Personal Account (``/cabinet``): signing in and out, the Order Monitor and its export,
an order's page with its confirmation and cancellation, the password, the users.

Every page is of the signed-in user's merchant: an order of another merchant is not found.
Confirmations and cancellations call the same services as the web services do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from ips.domain.errors import DomainError, InvalidInput, NotFound
from ips.domain.merchants import Merchant
from ips.domain.notifications import AnswerMode
from ips.domain.orders import CancelReason, OperationKind, PaymentMeans
from ips.domain.users import Role
from ips.services import accounts, merchant_settings, monitor
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.order_details import OrderDetails, order_details
from ips.web.cabinet.chart import turnover_svg
from ips.web.cabinet.filters import Filters, read_filters
from ips.web.cabinet.session import (
    LOGIN_FORM,
    CabinetUser,
    forget_session,
    keep_session,
    may_act,
    may_administer,
    posted,
    safe_next,
)
from ips.web.cabinet.views import money, render
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")

PAGE_SIZE = 50


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("")
async def home() -> Response:
    return _see("/cabinet/orders")


@router.get("/login")
async def login_page(request: Request, services: AppServices) -> Response:
    return _login_form(request, services)


def _login_form(
    request: Request, services: AppServices, error: str = "", status: int = 200, login: str = ""
) -> Response:
    return render(
        request,
        "login.html",
        status=status,
        token=services.tokens.issue(LOGIN_FORM),
        next=safe_next(request.query_params.get("next", "")),
        error=error,
        login=login,
    )


@router.post("/login")
async def login(request: Request, services: AppServices) -> Response:
    form = await read_params(request)
    login = form.get("login", "")
    if not services.tokens.valid(LOGIN_FORM, form.get("token", "")):
        return _login_form(request, services, "The page has expired: sign in again.", 400, login)
    try:
        _, token = await accounts.sign_in(
            login, form.get("password", ""), services.uow_factory, services.gateway.clock
        )
    except DomainError as exc:
        status = 429 if "locked" in exc.message else 401
        message = (
            "Too many failed sign-ins: the account is locked for 30 minutes."
            if status == 429
            else "Wrong login or password."
        )
        return _login_form(request, services, message, status, login)
    response = _see(safe_next(form.get("next", "")))
    keep_session(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    await posted(request, signed)
    await accounts.sign_out(signed, services.uow_factory)
    response = _see("/cabinet/login")
    forget_session(response)
    return response


@router.get("/orders")
async def orders(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    try:
        filters = read_filters(request.query_params, signed.merchant)
        cursor = request.query_params.get("after") or None
        found = await monitor.list_orders(filters.filter, cursor, PAGE_SIZE, services.uow_factory)
        totals = await monitor.totals(filters.filter, services.uow_factory)
        turnover = await monitor.daily_turnover(filters.filter, services.uow_factory)
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
        chart=_chart(turnover, signed),
    )


def _chart(turnover: list[monitor.TurnoverDay], signed: accounts.Signed) -> str:
    """The chart of the merchant's default currency (or, without turnover in it, of the
    first one that has some)."""
    shown = signed.merchant.default_currency
    if turnover and all(day.currency != shown for day in turnover):
        shown = turnover[0].currency
    return turnover_svg([day for day in turnover if day.currency == shown], shown)


def _list_url(path: str, filters: Filters, after: str | None = None) -> str:
    items = filters.query() + ([("after", after)] if after else [])
    return f"{path}?{urlencode(items)}" if items else path


EXPORT_COLUMNS = ("billnumber", "ordernumber", "created (UTC)", "state", "amount", "currency",
                  "way of payment", "card")  # fmt: skip


@router.get("/orders.csv")
async def export(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    """The filtered list as CSV (UTF-8 with a byte-order mark, so spreadsheets read it as
    such), streamed a batch at a time."""
    try:
        filters = read_filters(request.query_params, signed.merchant)
    except InvalidInput as exc:
        return render(request, "error.html", signed, status=400, message=exc.message)
    rows = monitor.export_rows(filters.filter, services.uow_factory)
    return StreamingResponse(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


async def _csv(rows: AsyncIterator[monitor.OrderRow]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async for row in rows:
        buffer.seek(0)
        buffer.truncate()
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
            )
        )
        yield buffer.getvalue().encode()


def _spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (the shop chose it, the staff opens it)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/orders/{billnumber}")
async def order_page(
    billnumber: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    details = await order_details(signed.merchant.merchant_id, billnumber, services.uow_factory)
    return _order(request, signed, details, done=request.query_params.get("done", ""))


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


ACTIONS = {"confirm": "Confirm", "cancel": "Cancel"}


@router.get("/orders/{billnumber}/{action}")
async def action_page(
    billnumber: str, action: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    """The confirmation step before a confirmation or a cancellation."""
    if action not in ACTIONS:
        return render(request, "error.html", signed, status=404, message="No such page.")
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
    most = 0 if books is None else books.unconfirmed if action == "confirm" else books.cancellable
    if books is None or most == 0:
        return _order(request, signed, details, error=f"Nothing is left to {action}.", status=409)
    return render(
        request,
        "action.html",
        signed,
        status=400 if error else 200,
        order=details.order,
        action=action,
        verb=ACTIONS[action],
        most=books.money(most),
        amount=amount or books.money(most).format(),
        reasons=[(r.value, r.name.capitalize()) for r in CancelReason if r.value != "9"],
        error=error,
    )


@router.post("/orders/{billnumber}/{action}")
async def act(
    billnumber: str, action: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", signed, status=404, message="No such page.")
    form = await posted(request, signed)
    may_act(signed)
    details = await order_details(signed.merchant.merchant_id, billnumber, services.uow_factory)
    books = details.order.books
    amount = form.get("amount", "").strip()
    currency = books.currency.code if books else ""
    try:
        if action == "confirm":
            result = await confirm(
                Confirm(
                    billnumber, amount, currency, auto_deposit=form.get("release_rest") == "1",
                    client_ip=client_ip(request),
                ),
                signed.caller, services.gateway,
            )  # fmt: skip
        else:
            result = await cancel(
                Cancel(
                    billnumber, amount, currency, reason=_reason(form.get("reason", "1")),
                    client_ip=client_ip(request),
                ),
                signed.caller, services.gateway,
            )  # fmt: skip
    except DomainError as exc:
        return _action_form(request, signed, details, action, exc.message, amount)
    done = f"{ACTIONS[action]}ed {money(result.operation.amount)}: {result.operation.status.value}"
    return _see(f"/cabinet/orders/{billnumber}?{urlencode({'done': done})}")


def _reason(value: str) -> CancelReason:
    try:
        reason = CancelReason(value)
    except ValueError:
        raise InvalidInput("unknown reason", field="reason") from None
    if reason is CancelReason.HOLD_EXPIRED:
        raise InvalidInput("unknown reason", field="reason")
    return reason


@router.get("/password")
async def password_page(request: Request, signed: CabinetUser) -> Response:
    return render(request, "password.html", signed, error="", done=False)


@router.post("/password")
async def change_password(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    form = await posted(request, signed)
    if form.get("new", "") != form.get("repeat", ""):
        error = "The new password and its repetition differ."
        return render(request, "password.html", signed, status=400, error=error, done=False)
    try:
        await accounts.change_password(
            signed, form.get("current", ""), form.get("new", ""), services.uow_factory
        )
    except DomainError as exc:
        return render(request, "password.html", signed, status=400, error=exc.message, done=False)
    return render(request, "password.html", signed, error="", done=True)


@router.get("/users")
async def users_page(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    may_administer(signed)
    return await _users(request, signed, services)


async def _users(
    request: Request, signed: accounts.Signed, services: AppServices, error: str = "",
    status: int = 200, done: str = "",
) -> Response:  # fmt: skip
    users = await accounts.users_of(signed, services.uow_factory)
    return render(
        request, "users.html", signed, status=status, users=users, roles=list(Role),
        error=error, done=done,
    )  # fmt: skip


@router.post("/users")
async def add_user(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    form = await posted(request, signed)
    may_administer(signed)
    try:
        role = Role(form.get("role", ""))
        await accounts.add_user(
            signed.merchant.merchant_id, form.get("login", ""), form.get("password", ""), role,
            services.uow_factory, services.gateway.clock,
        )  # fmt: skip
    except ValueError:
        return await _users(request, signed, services, "Choose a role.", 400)
    except DomainError as exc:
        return await _users(request, signed, services, exc.message, 400)
    return _see("/cabinet/users")


@router.post("/users/{user_id}")
async def change_user(
    user_id: int, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    """A new role for a user of the merchant, or (``role=none``) the user removed."""
    form = await posted(request, signed)
    may_administer(signed)
    try:
        wanted = form.get("role", "")
        role = None if wanted == "none" else Role(wanted)
        await accounts.change_user(signed, user_id, role, services.uow_factory)
    except ValueError:
        return await _users(request, signed, services, "Choose a role.", 400)
    except NotFound:
        raise
    except DomainError as exc:
        return await _users(request, signed, services, exc.message, 400)
    return _see("/cabinet/users")


SETTINGS_PARTS = ("notifications", "password", "secret")
GRACE_HOURS = (0, 1, 24, 72, 168)


@router.get("/settings")
async def settings_page(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    may_administer(signed)
    done = request.query_params.get("done", "")
    return _settings(request, signed, services.gateway.clock(), done=done)


def _settings(
    request: Request, signed: accounts.Signed, now: datetime, *, done: str = "",
    error: DomainError | None = None, part: str = "",
) -> Response:  # fmt: skip
    return render(
        request,
        "settings.html",
        signed,
        status=400 if error else 200,
        merchant=signed.merchant,
        grace_ends=_grace_ends(signed.merchant, now),
        kinds=[(k.value, k.name.lower()) for k in OperationKind],
        answers=list(AnswerMode),
        grace_hours=GRACE_HOURS,
        done=done,
        error=error,
        part=part,
    )


def _grace_ends(merchant: Merchant, now: datetime) -> datetime | None:
    """Until when the previous secret word is accepted, if it still is."""
    until = merchant.previous_secret_until
    return until if until and until > now else None


@router.post("/settings/{part}")
async def change_settings(
    part: str, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    if part not in SETTINGS_PARTS:
        return render(request, "error.html", signed, status=404, message="No such page.")
    form = await posted(request, signed)
    may_administer(signed)
    merchant_id = signed.merchant.merchant_id
    try:
        if part == "notifications":
            wanted = merchant_settings.Notifications(
                callback_url=form.get("callback_url", ""),
                kinds=frozenset(OperationKind(k) for k in await _many(request, "kind")),
                answer=AnswerMode(form.get("answer", "")),
                means=frozenset(PaymentMeans(m) for m in await _many(request, "means")),
            )
            await merchant_settings.change_notifications(
                merchant_id, wanted, services.uow_factory, services.notification_ports
            )
            done = "The notifications and the ways to pay are saved."
        elif part == "password":
            if form.get("password", "") != form.get("repeat", ""):
                raise InvalidInput("the password and its repetition differ", field="password")
            await merchant_settings.change_ws_password(
                merchant_id, form.get("password", ""), services.uow_factory
            )
            done = "The web-service password is changed."
        else:
            grace = timedelta(hours=_grace_hours(form.get("grace", "")))
            await merchant_settings.rotate_secret_word(
                merchant_id, form.get("secret_word", ""), grace, services.uow_factory,
                services.gateway.clock,
            )  # fmt: skip
            done = "The secret word is changed."
    except ValueError:
        error = InvalidInput("choose among the options given", field=part)
        return _settings(request, signed, services.gateway.clock(), error=error, part=part)
    except NotFound:
        raise
    except DomainError as exc:
        return _settings(request, signed, services.gateway.clock(), error=exc, part=part)
    return _see("/cabinet/settings?" + urlencode({"done": done}))


async def _many(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes); ``read_params`` keeps the first."""
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str)]


def _grace_hours(value: str) -> int:
    hours = int(value)
    if hours not in GRACE_HOURS:
        raise ValueError(value)
    return hours
