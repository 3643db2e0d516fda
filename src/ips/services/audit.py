"""Writing the audit trail beside a change, and reading it (``domain/audit.py``).

A service that changes something at a person's request takes the ``Actor`` and calls
``note`` inside the unit of work that makes the change, before its commit: the entry and
the change are stored together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from ips.domain.audit import Actor, AuditEntry, Subject, Values, record
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

PAGE = 50


async def note(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    subject: Subject,
    now: datetime,
    before: Values | None = None,
    after: Values | None = None,
) -> None:
    await uow.audit.add(record(actor, action, subject, now, before, after))


async def trail(
    uow_factory: UnitOfWorkFactory,
    *,
    before_id: int | None = None,
    merchant_id: str | None = None,
    billnumber: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = PAGE,
) -> list[AuditEntry]:
    """A page of the trail, newest first."""
    async with uow_factory(readonly=True) as uow:
        return await uow.audit.latest(
            limit,
            before_id=before_id,
            merchant_id=merchant_id,
            billnumber=billnumber,
            actor=actor,
            action=action,
        )
