"""The CVC while the buyer is at the issuer's 3-D Secure page.

PCI DSS allows keeping it until the authorization, never after. The buyer may come back to
any node, or to a node restarted meanwhile, so IPS keeps it in the database — sealed with the
key ring under a context that names the payment, never in the clear, never logged — for at
most ``KEEP``. It is written with the payment's 3-D Secure check, and taken (read and deleted
in one statement) when the check is closed: to authorize with when the cardholder was
authenticated, to erase otherwise. The janitor purges whatever outlived its time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ips.crypto.keyring import KeyRing
from ips.domain.cards import Secret
from ips.faults import fault
from ips.services.gateway import Gateway
from ips.services.unit_of_work import UnitOfWork

KEEP = timedelta(minutes=15)


def _context(payment_id: int) -> str:
    return f"card security code of payment {payment_id}"


async def keep(
    uow: UnitOfWork, keyring: KeyRing, payment_id: int, cvc: Secret, now: datetime
) -> None:
    await uow.cvcs.keep(payment_id, keyring.seal(cvc.reveal(), _context(payment_id)), now + KEEP)


async def take(uow: UnitOfWork, keyring: KeyRing, payment_id: int, now: datetime) -> Secret | None:
    """The payment's CVC, deleted as it is read; ``None`` when none is kept or its time is up."""
    sealed = await uow.cvcs.take(payment_id, now)
    return Secret(keyring.open(sealed, _context(payment_id))) if sealed is not None else None


async def purge_expired(gateway: Gateway) -> int:
    """Deletes every kept CVC whose time is up; how many (the janitor's)."""
    async with gateway.uow_factory() as uow:
        purged = await uow.cvcs.purge(gateway.clock())
        fault("janitor.cvc_purge.committing")
        await uow.commit()
    fault("janitor.cvc_purge.committed")
    return purged
