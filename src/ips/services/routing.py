"""Which acquirer takes a merchant's card payment, and whether it takes it at all: the rules
of the seed's acquiring banks — some take no double-stage payments, some none with a stored
card — checked before any money moves (``domain/acquirers.py``)."""

from __future__ import annotations

from ips.domain.acquirers import Acquirer, route
from ips.domain.cards import Brand
from ips.domain.errors import Refused
from ips.domain.merchants import Merchant
from ips.domain.money import Currency
from ips.services.gateway import Gateway


def acquirer_for(
    gateway: Gateway, merchant: Merchant, cur: Currency, brand: Brand | None = None
) -> Acquirer:
    """The acquirer the merchant's payment in ``cur`` with a card of ``brand`` goes to (the
    brand ``None``: not known yet); refused when that acquirer takes no payments now."""
    name = route(merchant.routes, cur, brand)
    acquirer = gateway.acquirer(name)
    if acquirer is None:
        raise Refused(f"the shop's acquirer {name} is not connected", field="acquirer")
    if acquirer.disabled:
        raise Refused(f"the shop's acquirer {name} takes no payments now", field="acquirer")
    return acquirer


def check_hold(acquirer: Acquirer, *, stored_card: bool = False) -> None:
    """Refuses a double-stage payment the acquirer does not take."""
    if not acquirer.rules.double_stage:
        raise Refused("the processing center does not take double-stage payments", field="delay")
    if stored_card and not acquirer.rules.stored_card_double_stage:
        raise Refused(
            "the processing center takes no double-stage payment with a stored card",
            field="delay",
        )
