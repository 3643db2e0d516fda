"""Answers of the Assist web services in their formats: 1 (CSV), 3 (XML) and 5 (JSON).

XML: ``<result firstcode="0" secondcode="0" count="K">`` and the objects. JSON:
``{"<root>": {...}}`` on success, ``{"firstcode": N, "secondcode": M}`` on failure. CSV: a
header line of field names and a line per object, ``;``-separated; a failure is the line
``firstcode;secondcode`` and its values. Errors are answered with HTTP 200, as the real
service does; a format IPS does not build answers in XML.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from starlette.responses import Response

from ips.domain.errors import InvalidInput
from ips.domain.merchants import Merchant
from ips.domain.orders import Order
from ips.protocol.fields import check_fields, operation_fields, order_fields
from ips.services.operations import OperationResult


class Format(enum.Enum):
    CSV = "1"
    WDDX = "2"
    XML = "3"
    SOAP = "4"
    JSON = "5"


def requested_format(params: Mapping[str, str], default: Format = Format.XML) -> Format:
    """The ``Format`` asked for; an unknown value answers in the default format."""
    value = params.get("format", "").strip()
    if not value:
        return default
    try:
        return Format(value)
    except ValueError:
        raise InvalidInput(f"Format {value!r} is not one of 1..5", field="format") from None


def _xml(element: ET.Element) -> Response:
    body = ET.tostring(element, encoding="UTF-8", xml_declaration=True)
    return Response(body, media_type="text/xml; charset=utf-8")


def _json(document: Any) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False), media_type="application/json; charset=utf-8"
    )


def _csv(rows: Sequence[Mapping[str, str]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    if rows:
        writer.writerow(rows[0].keys())
        writer.writerows(row.values() for row in rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


def error(fmt: Format, codes: tuple[int, int]) -> Response:
    """The failure answer, in the format asked for (XML for formats not built)."""
    first, second = codes
    if fmt is Format.JSON:
        return _json({"firstcode": first, "secondcode": second})
    if fmt is Format.CSV:
        return _csv([{"firstcode": str(first), "secondcode": str(second)}])
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


def orderstate(fmt: Format, merchant: Merchant, orders: Sequence[Order], now: datetime) -> Response:
    if fmt is Format.JSON:
        items = [{**order_fields(o), "checkdata": check_fields(merchant, o, now)} for o in orders]
        return _json({"orderstate": items[0] if len(items) == 1 else items})
    return _xml(
        _result(
            [_element("order", order_fields(o) | check_fields(merchant, o, now)) for o in orders]
        )
    )


def operation(fmt: Format, root: str, result: OperationResult, now: datetime) -> Response:
    """``charge`` answers its fields flat under the root (as the official SDK reads them);
    ``cancel``/``wscancel`` nest them as ``order`` beside ``checkdata``."""
    fields = operation_fields(result.order, result.operation, result.payment, now)
    checkvalue = check_fields(result.merchant, result.order, now)["checkvalue"]
    if fmt is Format.JSON and root == "charge":
        return _json({root: fields | {"checkvalue": checkvalue}})
    if fmt is Format.JSON:
        checkdata = {key: fields.pop(key) for key in ("packetdate", "signature")}
        return _json({root: {"order": fields, "checkdata": checkdata | {"checkvalue": checkvalue}}})
    if fmt is Format.CSV:
        return _csv([fields])
    orders = ET.Element("orders")
    orders.append(_element("order", fields))
    result_element = ET.Element("result", firstcode="0", secondcode="0", count="1")
    result_element.append(orders)
    return _xml(result_element)
