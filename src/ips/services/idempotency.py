"""The JSON API's idempotency keys (``domain/idempotency.py``), per merchant, held in the
database so that they work across nodes and restarts: a key is claimed by inserting it (the
primary key lets one request of several at once through), answered when its request ends,
forgotten when the request failed with a 5xx (it may be sent again), and purged by the
janitor after ``KEPT``."""

from __future__ import annotations

from ips.domain.idempotency import IN_FLIGHT, KEPT, KeyInFlight, KeyReused, Remembered
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory


async def begin(
    uow_factory: UnitOfWorkFactory,
    merchant_id: str,
    key: str,
    fingerprint: str,
    clock: Clock = utc_now,
) -> Remembered | None:
    """``None`` when this request runs (its key now in flight); the answer kept when the
    key was answered already. Raises ``KeyReused`` for a key of another request,
    ``KeyInFlight`` while its request is being answered."""
    async with uow_factory() as uow:
        now = clock()
        if await uow.idempotency.claim(merchant_id, key, fingerprint, now):
            await uow.commit()
            return None
        kept = await uow.idempotency.get(merchant_id, key)
        if kept is None:  # forgotten meanwhile: the caller asks again
            raise KeyInFlight("the request of this key is being answered", field="idempotency-key")
        if kept.fingerprint != fingerprint:
            raise KeyReused(
                "this Idempotency-Key was used for another request", field="idempotency-key"
            )
        if kept.status is not None:
            return kept
        if await uow.idempotency.take_over(merchant_id, key, now - IN_FLIGHT, now):
            await uow.commit()
            return None
    raise KeyInFlight("the request of this key is being answered", field="idempotency-key")


async def answer(
    uow_factory: UnitOfWorkFactory,
    merchant_id: str,
    key: str,
    status: int,
    body: str,
    clock: Clock = utc_now,
) -> None:
    """Keeps the answer to the key's request; a 5xx is not kept: the key is forgotten."""
    async with uow_factory() as uow:
        if status >= 500:
            await uow.idempotency.forget(merchant_id, key)
        else:
            await uow.idempotency.answer(merchant_id, key, status, body, clock())
        await uow.commit()


async def purge_expired(uow_factory: UnitOfWorkFactory, clock: Clock = utc_now) -> int:
    """The janitor's: forgets the keys older than ``KEPT``."""
    async with uow_factory() as uow:
        gone = await uow.idempotency.forget_before(clock() - KEPT)
        await uow.commit()
    return gone
