"""The acquirer host simulator: a TCP server with its own ledger (see ``server``, ``ledger``)."""

from ips.processing.simulator.ledger import (
    Batch,
    BatchStatus,
    Hold,
    HoldStatus,
    Ledger,
    Posting,
    PostingKind,
    Reversal,
)
from ips.processing.simulator.server import Simulator, run

__all__ = [
    "Batch",
    "BatchStatus",
    "Hold",
    "HoldStatus",
    "Ledger",
    "Posting",
    "PostingKind",
    "Reversal",
    "Simulator",
    "run",
]
