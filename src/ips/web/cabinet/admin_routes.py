"""What a merchant's administrator does: the users and their roles, the settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import DomainError, InvalidInput, NotFound
from ips.domain.merchants import Merchant
from ips.domain.notifications import AnswerMode
from ips.domain.orders import OperationKind, PaymentMeans
from ips.domain.users import Role
from ips.services import accounts, merchant_settings
from ips.web.cabinet.session import (
    CabinetUser,
    may_administer,
    posted,
)
from ips.web.cabinet.views import render, see_other, words
from ips.web.i18n import N_
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")


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
        request, "users.html", signed, status=status, here="/cabinet/users", users=users,
        roles=list(Role), error=error, done=done,
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
        error = words(request).gettext("Choose a role.")
        return await _users(request, signed, services, error, 400)
    except DomainError as exc:
        return await _users(request, signed, services, words(request).sentence(exc.message), 400)
    return see_other("/cabinet/users")


@router.post("/users/{user_id}")
async def change_user(
    user_id: Annotated[int, Path(ge=1, lt=2**63)],
    request: Request,
    signed: CabinetUser,
    services: AppServices,
) -> Response:
    """A new role for a user of the merchant, or (``role=none``) the user removed."""
    form = await posted(request, signed)
    may_administer(signed)
    try:
        wanted = form.get("role", "")
        role = None if wanted == "none" else Role(wanted)
        await accounts.change_user(signed, user_id, role, services.uow_factory)
    except ValueError:
        error = words(request).gettext("Choose a role.")
        return await _users(request, signed, services, error, 400)
    except NotFound:
        raise
    except DomainError as exc:
        return await _users(request, signed, services, words(request).sentence(exc.message), 400)
    return see_other("/cabinet/users")


SAVED = {
    "notifications": N_("The notifications and the ways to pay are saved."),
    "password": N_("The web-service password is changed."),
    "addresses": N_("The web-service addresses are saved."),
    "secret": N_("The secret word is changed."),
}
"""What the page says after a part of the settings was saved (``?done=<part>``)."""
GRACE_HOURS = (0, 1, 24, 72, 168)


@router.get("/settings")
async def settings_page(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    may_administer(signed)
    saved = SAVED.get(request.query_params.get("done", ""))
    done = words(request).gettext(saved) if saved else ""
    return _settings(request, signed, services.gateway.clock(), done=done)


def _settings(
    request: Request, signed: accounts.Signed, now: datetime, *, done: str = "",
    error: DomainError | None = None, part: str = "", addresses: str | None = None,
) -> Response:  # fmt: skip
    """The settings page; ``addresses`` as typed, when they were refused."""
    return render(
        request,
        "settings.html",
        signed,
        status=400 if error else 200,
        here="/cabinet/settings",
        merchant=signed.merchant,
        grace_ends=_grace_ends(signed.merchant, now),
        kinds=list(OperationKind),
        answers=list(AnswerMode),
        grace_hours=GRACE_HOURS,
        addresses=" ".join(signed.merchant.ws_addresses) if addresses is None else addresses,
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
    if part not in SAVED:
        message = words(request).gettext("No such page.")
        return render(request, "error.html", signed, status=404, message=message)
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
        elif part == "password":
            if form.get("password", "") != form.get("repeat", ""):
                raise InvalidInput("the password and its repetition differ", field="password")
            await merchant_settings.change_ws_password(
                merchant_id, form.get("password", ""), services.uow_factory
            )
        elif part == "addresses":
            await merchant_settings.change_ws_addresses(
                merchant_id, form.get("addresses", "").replace(",", " ").split(),
                services.uow_factory,
            )  # fmt: skip
        else:
            grace = timedelta(hours=_grace_hours(form.get("grace", "")))
            await merchant_settings.rotate_secret_word(
                merchant_id, form.get("secret_word", ""), grace, services.uow_factory,
                services.gateway.clock,
            )  # fmt: skip
    except ValueError:
        error = InvalidInput("choose among the options given", field=part)
        return _settings(request, signed, services.gateway.clock(), error=error, part=part)
    except NotFound:
        raise
    except DomainError as exc:
        typed = form.get("addresses", "") if part == "addresses" else None
        return _settings(
            request, signed, services.gateway.clock(), error=exc, part=part, addresses=typed
        )
    return see_other(f"/cabinet/settings?done={part}")


async def _many(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes); ``read_params`` keeps the first."""
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str)]


def _grace_hours(value: str) -> int:
    hours = int(value)
    if hours not in GRACE_HOURS:
        raise ValueError(value)
    return hours
