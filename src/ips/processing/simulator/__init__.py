"""The acquirer host simulator: a TCP server with its own ledger (see ``server``, ``ledger``)."""

from ips.processing.simulator.ledger import Hold, HoldStatus, Ledger, Reversal
from ips.processing.simulator.server import Simulator, run

__all__ = ["Hold", "HoldStatus", "Ledger", "Reversal", "Simulator", "run"]
