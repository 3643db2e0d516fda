"""The ISO 8583 adapter of the ``ProcessingCenter`` port (see ``spec`` for the field layout)."""

from ips.processing.iso8583.client import Iso8583ProcessingCenter

__all__ = ["Iso8583ProcessingCenter"]
