"""Answers of the Assist web services in their formats: 3 (XML) and 5 (JSON).

XML: ``<result firstcode="0" secondcode="0" count="K">`` and one element per object. JSON:
``{"<root>": {...}}`` (a list when several) on success, ``{"firstcode": N, "secondcode": M}``
on failure. Errors are answered with HTTP 200, as the real service does.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from starlette.responses import Response

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.errors import InvalidInput
from ips.domain.merchants import Merchant
from ips.domain.orders import Order


class Format(enum.Enum):
    CSV = "1"
    WDDX = "2"
    XML = "3"
    SOAP = "4"
    JSON = "5"


SUPPORTED = (Format.XML, Format.JSON)


def requested_format(params: Mapping[str, str], default: Format = Format.XML) -> Format:
    """The ``Format`` asked for; an unknown value answers in the default format."""
    value = params.get("format", "").strip()
    if not value:
        return default
    try:
        return Format(value)
    except ValueError:
        raise InvalidInput(f"Format {value!r} is not one of 1..5", field="format") from None


def packetdate(moment: datetime) -> str:
    """Dates of the protocol: ``dd.mm.yyyy HH:MM:SS``, GMT."""
    return moment.strftime("%d.%m.%Y %H:%M:%S")


def _xml(element: ET.Element) -> Response:
    body = ET.tostring(element, encoding="UTF-8", xml_declaration=True)
    return Response(body, media_type="text/xml; charset=utf-8")


def _json(document: Any) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False), media_type="application/json; charset=utf-8"
    )


def error(fmt: Format, codes: tuple[int, int]) -> Response:
    """The failure answer: in JSON when asked for, else in XML (also for formats not built)."""
    first, second = codes
    if fmt is Format.JSON:
        return _json({"firstcode": first, "secondcode": second})
    return _xml(ET.Element("result", firstcode=str(first), secondcode=str(second), count="0"))


def _result(children: Sequence[ET.Element]) -> ET.Element:
    result = ET.Element("result", firstcode="0", secondcode="0", count=str(len(children)))
    result.extend(children)
    return result


def _element(tag: str, fields: Mapping[str, str]) -> ET.Element:
    element = ET.Element(tag)
    for name, value in fields.items():
        ET.SubElement(element, name).text = value
    return element


def order_fields(order: Order) -> dict[str, str]:
    return {
        "ordernumber": order.ordernumber,
        "billnumber": order.billnumber,
        "orderamount": order.amount.format(),
        "ordercurrency": order.amount.currency.code,
        "orderstate": order.state.value,
    }


def check_fields(merchant: Merchant, order: Order, now: datetime) -> dict[str, str]:
    """``packetdate``, ``signature`` (empty: IPS does not sign with RSA) and ``checkvalue``."""
    fields = order_fields(order)
    return {
        "packetdate": packetdate(now),
        "signature": "",
        "checkvalue": answer_checkvalue(
            merchant.secret_word.reveal(),
            merchant.merchant_id,
            fields["ordernumber"],
            fields["orderamount"],
            fields["ordercurrency"],
            fields["orderstate"],
        ),
    }


def orderstate(fmt: Format, merchant: Merchant, orders: Sequence[Order], now: datetime) -> Response:
    if fmt is Format.JSON:
        items = [{**order_fields(o), "checkdata": check_fields(merchant, o, now)} for o in orders]
        return _json({"orderstate": items[0] if len(items) == 1 else items})
    return _xml(
        _result(
            [_element("order", order_fields(o) | check_fields(merchant, o, now)) for o in orders]
        )
    )
