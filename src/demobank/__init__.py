"""A simulated bank, apart from IPS: IPS reaches it only over the wire, and neither package
imports the other (what both speak is ``paywire``'s).

Its processing center is a TCP server speaking ISO 8583 with its own ledger (``server``,
``ledger``) under its own rules (``rules``: its name, acquirer id, currencies, double-stage);
beside it an HTTP side (``web``) with the issuer's 3-D Secure ACS (``acs``), the Demo Wallet
(``wallet``), the Demo Points program (``loyalty``) and the bank's settlement report
(``report``), all on one SQLite store (``store``, ``schema``). ``python -m demobank`` runs one.
"""

from demobank.acs import Acs, AcsOutcome, AcsStatus, AcsTransaction
from demobank.ledger import (
    Batch,
    BatchStatus,
    Hold,
    HoldStatus,
    Ledger,
    Posting,
    PostingKind,
    Reversal,
)
from demobank.loyalty import LoyaltyBooks
from demobank.rules import Rules
from demobank.server import Simulator, run
from demobank.wallet import WalletBooks

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
    "Rules",
    "Simulator",
    "WalletBooks",
    "run",
]
