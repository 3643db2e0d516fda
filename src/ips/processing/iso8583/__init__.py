"""The ISO 8583 adapter of the ``ProcessingCenter`` port (the field layout: ``paywire.spec``)."""

from ips.processing.iso8583.client import Iso8583ProcessingCenter

__all__ = ["Iso8583ProcessingCenter"]
