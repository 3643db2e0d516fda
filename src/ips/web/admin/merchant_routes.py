"""The console's merchants: found by id, name or login, each one's file (settings, users,
holds open, latest changes), and for an administrator: a merchant made, its settings
changed, disabled or enabled, its web-service password reset.

Each change goes through ``services/merchants``, which writes it in the audit trail under
the operator and the browser's address. The settings form carries the ``version`` of the
settings it shows: a change over settings someone else changed since is refused whole (409),
and the page shows them as they are now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.acquirers import read_routes
from ips.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from ips.domain.merchants import NOTIFIED, BuyerField, settings_of
from ips.domain.notifications import AnswerMode
from ips.domain.orders import PaymentMeans
from ips.domain.text import is_digits
from ips.services import merchant_files, merchants
from ips.services.merchant_files import MerchantFile
from ips.services.merchants import AddMerchant, ChangeMerchant
from ips.services.operators import SignedOperator
from ips.web.admin.session import PREFIX, Console, actor, may_administer, posted
from ips.web.admin.trail import changes
from ips.web.admin.views import render, see_other
from ips.web.params import read_params
from ips.web.services import AppServices, Services

router = APIRouter(prefix=PREFIX)

_KINDS = {name: kind for kind, name in NOTIFIED.items()}
CHOICES = {
    "notify_kinds": list(_KINDS),
    "notify_answer": [mode.value for mode in AnswerMode],
    "means": [means.value for means in PaymentMeans],
    "required_fields": [buyer.value for buyer in BuyerField],
}
"""The options of the settings form's choices, as the form sends them."""
LISTS = ("notify_kinds", "means", "required_fields")
"""The form's fields of several values (checkboxes)."""
FLAGS = (
    "double_stage", "require_checkvalue", "checkvalue_legacy_concat", "require_3ds",
    "allow_disable_3ds",
)  # fmt: skip
DONE = {
    "added": "The merchant is added.",
    "changed": "The settings are saved.",
    "unchanged": "Every setting was as given already: nothing changed.",
    "disabled": "The merchant is disabled: it takes no new orders (its confirmations, cancels "
    "and web services go on).",
    "enabled": "The merchant is enabled: it takes new orders again.",
}
"""What the merchant's page says after a change (``?done=<what>``)."""


@router.get("/merchants")
async def merchants_page(request: Request, signed: Console, services: AppServices) -> Response:
    params = await read_params(request)
    text = params.get("q", "")
    page = await merchant_files.find_merchants(
        text, services.uow_factory, after=params.get("after") or None
    )
    return render(request, "merchants.html", signed, q=text.strip(), page=page)


@router.get("/merchants/new")
async def new_merchant_page(request: Request, signed: Console) -> Response:
    may_administer(signed)
    values = {**_values(merchants.new_settings()), "merchant_id": "", "login": ""}
    return _new_form(request, signed, values)


def _new_form(
    request: Request, signed: SignedOperator, values: Mapping[str, Any],
    error: DomainError | None = None,
) -> Response:  # fmt: skip
    return render(
        request, "merchant_new.html", signed, status=400 if error else 200,
        values=values, choices=CHOICES, error=error, culprit=_culprit(error),
    )  # fmt: skip


@router.post("/merchants/new")
async def add_merchant(request: Request, signed: Console, services: AppServices) -> Response:
    """Makes the merchant with a password and a secret word of IPS's making, shown on the
    answer once (never again: only the password's hash is kept, the word sealed)."""
    form = await posted(request, signed)
    may_administer(signed)
    values = await _typed(request, form)
    password, secret_word = merchants.new_secret(), merchants.new_secret()
    try:
        wanted = _settings(values)
        command = AddMerchant(
            merchant_id=form.get("merchant_id", ""), login=form.get("login", ""),
            password=password, secret_word=secret_word,
            **{k: v for k, v in vars(wanted).items() if v is not None and k not in _NOT_ADDED},
        )  # fmt: skip
        made = await merchants.add_merchant(
            command, services.uow_factory, services.gateway.clock, services.notification_ports,
            actor=actor(request, signed),
        )  # fmt: skip
    except DomainError as exc:
        return _new_form(request, signed, values, exc)
    return render(
        request, "merchant_made.html", signed, merchant=made, password=password,
        secret_word=secret_word,
    )  # fmt: skip


_NOT_ADDED = ("route", "seen", "password", "secret_word")
"""What ``ChangeMerchant`` has that ``AddMerchant`` does not take."""


@router.get("/merchants/{merchant_id}")
async def merchant_page(
    merchant_id: str, request: Request, signed: Console, services: AppServices
) -> Response:
    params = await read_params(request)
    file = await merchant_files.merchant_file(merchant_id, services.uow_factory)
    done = DONE.get(params.get("done", ""), "")
    holds = params.get("holds", "")
    notice = merchants.double_stage_notice(int(holds)) if is_digits(holds[:9]) else ""
    return _page(request, signed, file, done=done, notice=notice)


def _page(
    request: Request, signed: SignedOperator, file: MerchantFile, *,
    values: Mapping[str, Any] | None = None, error: DomainError | None = None, status: int = 200,
    done: str = "", notice: str = "",
) -> Response:  # fmt: skip
    """The merchant's page; ``values`` as typed, when they were refused."""
    return render(
        request, "merchant.html", signed, status=status, file=file, merchant=file.merchant,
        values=values or _values(settings_of(file.merchant)), choices=CHOICES, error=error,
        culprit=_culprit(error), done=done, notice=notice,
        rows=[(entry, changes(entry)) for entry in file.trail],
    )  # fmt: skip


_FIELDS = {
    "currency": "default_currency", "return_host": "return_hosts", "address": "ws_addresses",
    "acquirer": "routes",
}  # fmt: skip
"""The form's field of each error's ``field``, where the two differ."""


def _culprit(error: DomainError | None) -> str:
    field = (error.field if error else None) or ""
    return _FIELDS.get(field, field)


@router.post("/merchants/{merchant_id}")
async def change_merchant(
    merchant_id: str, request: Request, signed: Console, services: AppServices
) -> Response:
    form = await posted(request, signed)
    may_administer(signed)
    values = await _typed(request, form)
    try:
        wanted = _settings(values, seen=form.get("version", ""))
        changed = await merchants.change_merchant(
            merchant_id, wanted, services.uow_factory, services.gateway.clock,
            services.notification_ports, actor=actor(request, signed),
        )  # fmt: skip
    except NotFound as exc:
        if exc.field == "merchant_id":
            raise
        return await _refused(request, signed, services, merchant_id, exc, values)
    except Conflict as exc:
        file = await merchant_files.merchant_file(merchant_id, services.uow_factory)
        return _page(request, signed, file, error=exc, status=409)
    except DomainError as exc:
        return await _refused(request, signed, services, merchant_id, exc, values)
    url = f"{PREFIX}/merchants/{merchant_id}?done={'changed' if changed.fields else 'unchanged'}"
    if changed.notice:
        url += f"&holds={changed.holds_open}"
    return see_other(url)


async def _refused(
    request: Request, signed: SignedOperator, services: Services, merchant_id: str,
    error: DomainError, values: Mapping[str, Any],
) -> Response:  # fmt: skip
    file = await merchant_files.merchant_file(merchant_id, services.uow_factory)
    return _page(request, signed, file, values=values, error=error, status=400)


@router.post("/merchants/{merchant_id}/disable")
async def disable(
    merchant_id: str, request: Request, signed: Console, services: AppServices
) -> Response:
    return await _set_disabled(merchant_id, True, request, signed, services)


@router.post("/merchants/{merchant_id}/enable")
async def enable(
    merchant_id: str, request: Request, signed: Console, services: AppServices
) -> Response:
    return await _set_disabled(merchant_id, False, request, signed, services)


async def _set_disabled(
    merchant_id: str, disabled: bool, request: Request, signed: SignedOperator,
    services: Services,
) -> Response:  # fmt: skip
    await posted(request, signed)
    may_administer(signed)
    await merchants.set_disabled(
        merchant_id, disabled, services.uow_factory, services.gateway.clock,
        actor=actor(request, signed),
    )  # fmt: skip
    done = "disabled" if disabled else "enabled"
    return see_other(f"{PREFIX}/merchants/{merchant_id}?done={done}")


@router.post("/merchants/{merchant_id}/ws-password")
async def reset_ws_password(
    merchant_id: str, request: Request, signed: Console, services: AppServices
) -> Response:
    """A new web-service password, shown on this answer once (which no cache keeps)."""
    await posted(request, signed)
    may_administer(signed)
    reset = await merchants.reset_ws_password(
        merchant_id, services.uow_factory, services.gateway.clock, actor=actor(request, signed)
    )
    return render(
        request, "ws_password.html", signed, merchant=reset.merchant, password=reset.password
    )


def _values(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings form's values of settings as ``settings_of`` gives them."""
    values = dict(settings)
    for name in ("return_hosts", "ws_addresses", "routes"):
        values[name] = " ".join(settings[name])
    return values


async def _typed(request: Request, form: Mapping[str, str]) -> dict[str, Any]:
    """The settings form as sent: its text as typed, its checkboxes as lists and flags."""
    every = await request.form()
    values: dict[str, Any] = {name: form.get(name, "") for name in _TEXT}
    for name in LISTS:
        values[name] = [v for v in every.getlist(name) if isinstance(v, str)]
    for name in FLAGS:
        values[name] = form.get(name) == "on"
    return values


_TEXT = (
    "merchant_id", "login", "name", "default_currency", "callback_url", "notify_answer",
    "return_hosts", "ws_addresses", "payment_attempts", "points_share", "points_accrual",
    "routes", "secret_word",
)  # fmt: skip


def _settings(values: Mapping[str, Any], seen: str | None = None) -> ChangeMerchant:
    """The settings the form asks for, each given (a form carries them all)."""
    for name in (*LISTS, "notify_answer"):
        wanted = values[name] if name in LISTS else [values[name]]
        if set(wanted) - set(CHOICES[name]):
            raise InvalidInput("choose among the options given", field=name)
    return ChangeMerchant(
        name=values["name"],
        secret_word=values["secret_word"] or None,
        default_currency=values["default_currency"],
        double_stage=values["double_stage"],
        callback_url=values["callback_url"],
        notify_kinds=frozenset(_KINDS[name] for name in values["notify_kinds"]),
        notify_answer=AnswerMode(values["notify_answer"]),
        means=frozenset(PaymentMeans(means) for means in values["means"]),
        required_fields=frozenset(BuyerField(buyer) for buyer in values["required_fields"]),
        require_3ds=values["require_3ds"],
        allow_disable_3ds=values["allow_disable_3ds"],
        require_checkvalue=values["require_checkvalue"],
        checkvalue_legacy_concat=values["checkvalue_legacy_concat"],
        return_hosts=tuple(values["return_hosts"].replace(",", " ").split()),
        ws_addresses=tuple(values["ws_addresses"].replace(",", " ").split()),
        payment_attempts=_number(values, "payment_attempts"),
        points_share=_number(values, "points_share"),
        points_accrual=_number(values, "points_accrual"),
        routes=read_routes(values["routes"]),
        seen=seen,
    )


def _number(values: Mapping[str, Any], name: str) -> int:
    text = values[name].strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise InvalidInput("give a whole number", field=name)
    return int(text)
