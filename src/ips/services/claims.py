"""Claims: which node does a piece of background work, decided by the database.

Any number of nodes run the same jobs on one database. Before a node acts on a row that
others may act on too — a settlement batch to send, a transaction to repeat or give up — it
claims the row: a conditional ``UPDATE`` writes who holds it (``claimed_by``, a name made for
each claim) and until when (``claimed_until``), and succeeds only while nobody else's lease
runs; the row lock the ``UPDATE`` takes makes two claims at once wait for each other, and
the second then finds the row taken. The node then works with no database transaction
open, and releases the row when done. A node that dies keeps its claim until the lease
ends; then any node claims the row and takes the work up again, so work that must be done
once is also safe to repeat (a repeat of an advice or a reversal is its ``…1`` message).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

LEASE = timedelta(minutes=2)
"""How long a claim holds without being renewed: longer than one exchange with the
processing center or the wallet provider (``IPS_PROCESSING_TIMEOUT``)."""


def claimant() -> str:
    """A name for one claim: the host and process making it, and a random part, so that
    two jobs of one process never take each other's claim for their own."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class ClaimedElsewhere(Exception):
    """Another job holds the row: this one leaves it alone."""
