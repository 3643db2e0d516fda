"""The merchant's keys of the JSON API, for its administrator: listed, made, revoked.

A new key's text is shown once, in the body of the answer to the form that made it (never in
an address, which logs and browser histories keep); the page is not cached, as none of the
Personal Account's is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.api_keys import ApiKey, Scope
from ips.domain.errors import DomainError, NotFound
from ips.services import accounts
from ips.services.api_keys import api_keys_of, create_api_key, revoke_api_key
from ips.web.cabinet.session import CabinetUser, may_administer, posted
from ips.web.cabinet.views import render, see_other, words
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")

KeyId = Annotated[str, Path(max_length=64)]


@router.get("/api-keys")
async def api_keys_page(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    may_administer(signed)
    revoked = request.query_params.get("done") == "revoked"
    done = words(request).gettext("The key is revoked.") if revoked else ""
    return await _keys(request, signed, services, done=done)


async def _keys(
    request: Request, signed: accounts.Signed, services: AppServices, *, status: int = 200,
    error: str = "", done: str = "", made: ApiKey | None = None, token: str = "",
) -> Response:  # fmt: skip
    """The list of keys; ``made`` and ``token``: the key just made, and its text."""
    keys = await api_keys_of(signed.merchant.merchant_id, services.uow_factory)
    return render(
        request, "api_keys.html", signed, status=status, keys=keys, scopes=list(Scope),
        error=error, done=done, made=made, token=token,
    )  # fmt: skip


@router.post("/api-keys")
async def make_api_key(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    """A new key, its text in this answer's body and nowhere else."""
    form = await posted(request, signed)
    may_administer(signed)
    try:
        scope = Scope(form.get("scope", ""))
        made, token = await create_api_key(
            signed.merchant.merchant_id, form.get("name", ""), scope, services.uow_factory,
            services.gateway.clock,
        )  # fmt: skip
    except ValueError:
        error = words(request).gettext("Choose a scope.")
        return await _keys(request, signed, services, status=400, error=error)
    except DomainError as exc:
        error = words(request).sentence(exc.message)
        return await _keys(request, signed, services, status=400, error=error)
    return await _keys(request, signed, services, made=made, token=token)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key(
    key_id: KeyId, request: Request, signed: CabinetUser, services: AppServices
) -> Response:
    """Revokes a key of the merchant; a key revoked already (a form sent twice) stays so,
    another merchant's key is not found."""
    await posted(request, signed)
    may_administer(signed)
    merchant_id = signed.merchant.merchant_id
    try:
        await revoke_api_key(merchant_id, key_id, services.uow_factory, services.gateway.clock)
    except NotFound:
        keys = await api_keys_of(merchant_id, services.uow_factory)
        if not any(key.key_id == key_id and key.revoked_at for key in keys):
            raise
    return see_other("/cabinet/api-keys?done=revoked")
