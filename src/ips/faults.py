"""Fault points: named places where a test makes the process fail (as FoundationDB's buggify
or TiKV's fail points do).

``fault("payment.authorization.sent")`` sits at a boundary of a payment, a confirmation, a
cancel, a settlement, a notification or the janitor's work — before and after each commit,
after each call over the network — and does nothing unless the environment arms it::

    IPS_FAULTS="payment.authorization.sent=kill"
    IPS_FAULTS="settlement.advice.sent=kill@2,notification.sent=sleep:3"

An armed point acts each time it is passed, or with ``@N`` only the N-th time (counted in this
process). Its action: ``kill`` — the process sends itself SIGKILL, as a machine lost: no
handler, no ``finally``, no flush, after one line on stderr (``fault point NAME: kill``) that
tells a test which point it died at; ``raise`` — ``FaultInjected``; ``sleep:SECONDS`` — the
whole process stalls, its event loop too, as a paused virtual machine whose leases run out.

Unarmed (``IPS_FAULTS`` unset or empty, as in production), ``fault`` is an empty function,
chosen once as this module is imported: a point costs one call that returns at once, with no
look-up and no test. ``POINTS`` names every point. An ``IPS_FAULTS`` that names another stops
the process as it starts, an armed process refuses a call naming another, and a unit test
holds the calls in the code and ``POINTS`` to each other, so no point is misspelt silently.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

POINTS: tuple[str, ...] = (
    # a card payment (services/payments.py), its 3-D Secure check (services/authentication.py)
    "payment.begin.committing",
    "payment.begin.committed",
    "payment.enrollment.sent",
    "payment.authentication.committing",
    "payment.authentication.committed",
    "authentication.result.sent",
    "authentication.close.committing",
    "authentication.close.committed",
    "payment.not_enrolled.committing",
    "payment.not_enrolled.committed",
    "payment.authorization.sent",
    "payment.answer.committing",
    "payment.answer.committed",
    "payment.decline.committing",
    "payment.decline.committed",
    # a wallet payment and a refund at the wallet (services/wallet_payments.py)
    "choice.committing",
    "choice.committed",
    "wallet.create.sent",
    "wallet.reference.committing",
    "wallet.reference.committed",
    "wallet.status.sent",
    "wallet.answer.committing",
    "wallet.answer.committed",
    "wallet.give_up.committing",
    "wallet.give_up.committed",
    "points.begin.committing",
    "points.begin.committed",
    "points.reservation.sent",
    "points.reservation.committing",
    "points.follow.committing",
    "points.follow.committed",
    "points.exchange.sent",
    "points.answer.committing",
    "points.repeat.committing",
    "wallet_refund.prepare.committing",
    "wallet_refund.prepare.committed",
    "wallet_refund.sent",
    "wallet_refund.record.committing",
    "wallet_refund.record.committed",
    # a confirmation, a cancel, and the reversal either sends (services/confirmations.py,
    # cancellations.py, reversals.py)
    "confirmation.committing",
    "confirmation.committed",
    "cancel.committing",
    "cancel.committed",
    "reversal.prepare.committing",
    "reversal.prepare.committed",
    "reversal.sent",
    "reversal.record.committing",
    "reversal.record.committed",
    # settlement (services/settlement.py): batching, the claim, each advice, the batch close
    "settlement.batching.committing",
    "settlement.batching.committed",
    "settlement.claim.committing",
    "settlement.claim.committed",
    "settlement.advice.sent",
    "settlement.renewal.committing",
    "settlement.renewal.committed",
    "settlement.batch_close.sent",
    "settlement.record.committing",
    "settlement.record.committed",
    # the delivery of a notification (services/notifications.py)
    "notification.claim.committing",
    "notification.claim.committed",
    "notification.sent",
    "notification.record.committing",
    "notification.record.committed",
    # the delivery of a webhook (services/webhooks.py)
    "webhook.claim.committing",
    "webhook.claim.committed",
    "webhook.sent",
    "webhook.record.committing",
    "webhook.record.committed",
    # the janitor (services/janitor.py)
    "janitor.claim.committing",
    "janitor.claim.committed",
    "janitor.release.committing",
    "janitor.release.committed",
    "janitor.cvc_purge.committing",
    "janitor.cvc_purge.committed",
    "janitor.kept_card_purge.committing",
    "janitor.kept_card_purge.committed",
    "janitor.give_up.committing",
    "janitor.give_up.committed",
    "janitor.expiry.committing",
    "janitor.expiry.committed",
    "janitor.hold_release.committing",
    "janitor.hold_release.committed",
)
_KNOWN = frozenset(POINTS)


class FaultInjected(Exception):
    """Raised at a point armed with ``raise``."""


@dataclass(frozen=True)
class Action:
    """What an armed point does, and on which pass (``None``: every one)."""

    kind: str
    seconds: float = 0.0
    on_pass: int | None = None

    def act(self, point: str) -> None:
        if self.kind == "kill":
            os.write(2, f"fault point {point}: kill\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.kind == "raise":
            raise FaultInjected(point)
        else:
            time.sleep(self.seconds)


def parse(spec: str) -> dict[str, Action]:
    """``NAME=ACTION[@N]``, comma-separated; ``ValueError`` naming what is wrong."""
    actions = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, how = item.partition("=")
        name, how = name.strip(), how.strip()
        if name not in _KNOWN:
            raise ValueError(f"IPS_FAULTS: no fault point is named {name!r}")
        how, at, nth = how.partition("@")
        on_pass = None
        if at:
            if not nth.isdigit() or int(nth) < 1:
                raise ValueError(f"IPS_FAULTS: {item!r}: @N counts passes from 1")
            on_pass = int(nth)
        kind, _, seconds = how.partition(":")
        if not sep or kind not in ("kill", "raise", "sleep") or bool(seconds) != (kind == "sleep"):
            raise ValueError(f"IPS_FAULTS: {item!r}: NAME=kill, NAME=raise or NAME=sleep:SECONDS")
        try:
            pause = float(seconds) if seconds else 0.0
        except ValueError:
            pause = -1.0
        if not pause >= 0:
            raise ValueError(f"IPS_FAULTS: {item!r}: SECONDS is a number, 0 or more")
        actions[name] = Action(kind, pause, on_pass)
    return actions


def _unarmed(point: str) -> None:
    """A fault point with nothing armed: it returns at once."""


def arm(spec: str) -> Callable[[str], None]:
    """The ``fault`` function of ``IPS_FAULTS=spec``: the empty one when nothing is armed."""
    actions = parse(spec)
    if not actions:
        return _unarmed
    passes: Counter[str] = Counter()

    def armed(point: str) -> None:
        if point not in _KNOWN:
            raise ValueError(f"no fault point is named {point!r}")
        action = actions.get(point)
        if action is None:
            return
        passes[point] += 1
        if action.on_pass is None or passes[point] == action.on_pass:
            action.act(point)

    return armed


fault: Callable[[str], None] = arm(os.environ.get("IPS_FAULTS", ""))
"""The fault point named ``point``: does nothing unless ``IPS_FAULTS`` arms it."""
