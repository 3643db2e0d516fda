"""The acquirer host simulator: a TCP server speaking ISO 8583 with its own ledger (see
``server``, ``ledger``), and beside it an HTTP side (``web``) with the issuer's 3-D Secure ACS
(``acs``), the Demo Wallet (``wallet``) and the Demo Points program (``loyalty``), all on one
SQLite store (``store``, ``schema``)."""

from ips.processing.simulator.acs import Acs, AcsOutcome, AcsStatus, AcsTransaction
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
from ips.processing.simulator.loyalty import LoyaltyBooks
from ips.processing.simulator.server import Simulator, run
from ips.processing.simulator.wallet import WalletBooks

__all__ = [
    "Acs",
    "AcsOutcome",
    "AcsStatus",
    "AcsTransaction",
    "Batch",
    "BatchStatus",
    "Hold",
    "HoldStatus",
    "Ledger",
    "LoyaltyBooks",
    "Posting",
    "PostingKind",
    "Reversal",
    "Simulator",
    "WalletBooks",
    "run",
]
