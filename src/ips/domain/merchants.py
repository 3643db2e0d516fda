"""The merchant (the shop, the enterprise): who may create orders and use the web services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ips.domain.cards import Secret
from ips.domain.errors import InvalidInput
from ips.domain.money import Currency

_MERCHANT_ID = re.compile(r"\d{1,12}")


def parse_merchant_id(text: str) -> str:
    value = text.strip()
    if not _MERCHANT_ID.fullmatch(value):
        raise InvalidInput("Merchant_ID is a number of up to 12 digits", field="merchant_id")
    return value


@dataclass
class Merchant:
    merchant_id: str
    name: str
    login: str
    password_hash: str = field(repr=False)
    secret_word: Secret
    default_currency: Currency
    created_at: datetime
    double_stage: bool = False
    callback_url: str = ""
    require_checkvalue: bool = False
