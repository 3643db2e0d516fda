"""The JSON API's keys: made, listed and revoked (``ips apikey``, the Personal Account), and
the check of each call's key (``domain/api_keys.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.api_keys import ApiKey, Scope, key_id_of, new_key
from ips.domain.audit import Actor, Subject
from ips.domain.errors import AccessDenied, AuthenticationFailed, NotFound
from ips.logs.context import about
from ips.services.audit import note
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class KeyHolder:
    """Who calls the JSON API: the merchant whose key it is, and what the key may do."""

    merchant_id: str
    key_id: str
    scope: Scope

    def require(self, wanted: Scope) -> None:
        if not self.scope.allows(wanted):
            raise AccessDenied(f"this key may {self.scope.value} only", field="authorization")


async def create_api_key(
    merchant_id: str,
    name: str,
    scope: Scope,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    *,
    actor: Actor,
) -> tuple[ApiKey, str]:
    """A new key of the merchant, and its text — the one time it is shown (and never
    written in the audit trail)."""
    async with uow_factory() as uow:
        if await uow.merchants.get(merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}", field="merchant_id")
        key, token = new_key(merchant_id, name, scope, clock())
        await uow.api_keys.add(key)
        await note(
            uow, actor, "api_key.create", _subject(merchant_id, key.key_id), key.created_at,
            after={"name": key.name, "scope": key.scope.value},
        )  # fmt: skip
        await uow.commit()
    return key, token


async def api_keys_of(merchant_id: str, uow_factory: UnitOfWorkFactory) -> list[ApiKey]:
    async with uow_factory(readonly=True) as uow:
        return await uow.api_keys.of_merchant(merchant_id)


async def revoke_api_key(
    merchant_id: str, key_id: str, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now, *,
    actor: Actor,
) -> None:  # fmt: skip
    async with uow_factory() as uow:
        now = clock()
        if not await uow.api_keys.revoke(merchant_id, key_id, now):
            raise NotFound(f"no key {key_id} of merchant {merchant_id} to revoke", field="key")
        await note(
            uow, actor, "api_key.revoke", _subject(merchant_id, key_id), now,
            before={"state": "active"}, after={"state": "revoked"},
        )  # fmt: skip
        await uow.commit()


def _subject(merchant_id: str, key_id: str) -> Subject:
    return Subject("api_key", key_id, merchant_id=merchant_id)


async def key_holder(authorization: str, uow_factory: UnitOfWorkFactory) -> KeyHolder:
    """Who calls, by the ``Authorization: Bearer KEY`` header; a missing, unknown or revoked
    key is refused."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("send the API key as Authorization: Bearer KEY", field="key")
    key_id = key_id_of(token)
    async with uow_factory(readonly=True) as uow:
        key = await uow.api_keys.get(key_id)
    if key is None or not key.opens(token):
        raise AuthenticationFailed("the API key is unknown or revoked", field="key")
    about(merchant_id=key.merchant_id)
    return KeyHolder(key.merchant_id, key.key_id, key.scope)
