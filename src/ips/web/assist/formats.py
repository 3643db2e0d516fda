"""The envelopes of the web services' answers, by ``Format``: 1 (CSV), 3 (XML), 5 (JSON).

XML: UTF-8 with an XML declaration (some clients look for ``?xml``), the root
``<result firstcode="0" secondcode="0" count="K">`` always carrying the three attributes
(clients read them as integers, and use ``count`` as an index). JSON: ``{"<root>": {...}}``,
every value a string; a failure is ``{"firstcode": N, "secondcode": M}`` with integers. CSV:
a header line of field names and a line per record, ``;``-separated; a failure is the line
``firstcode;secondcode`` and its values. Failures are answered with HTTP 200, as the real
service does (clients read the codes from the body; some retry on any other status); a format
IPS does not build (2 WDDX, 4 SOAP) is refused in XML.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from starlette.responses import Response

from ips.domain.errors import InvalidInput


class Format(enum.Enum):
    CSV = "1"
    WDDX = "2"
    XML = "3"
    SOAP = "4"
    JSON = "5"


BUILT = (Format.CSV, Format.XML, Format.JSON)


def requested_format(params: Mapping[str, str], default: Format) -> Format:
    """The ``Format`` asked for, ``default`` when absent."""
    value = params.get("format", "").strip()
    if not value:
        return default
    try:
        return Format(value)
    except ValueError:
        raise InvalidInput(f"Format {value!r} is not one of 1..5", field="format") from None


def element(tag: str, fields: Mapping[str, str], children: Iterable[ET.Element] = ()) -> ET.Element:
    """``<tag>`` with a child element per field, then ``children``."""
    parent = ET.Element(tag)
    for name, value in fields.items():
        ET.SubElement(parent, name).text = value
    parent.extend(children)
    return parent


def xml_result(children: Sequence[ET.Element]) -> Response:
    """A success: ``<result count="K">`` holding its K children."""
    result = ET.Element("result", firstcode="0", secondcode="0", count=str(len(children)))
    result.extend(children)
    return _xml(result)


def json_answer(document: Any) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False), media_type="application/json; charset=utf-8"
    )


def csv_answer(rows: Sequence[Mapping[str, str]]) -> Response:
    """Rows of one shape: the header is the first row's names."""
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
        return json_answer({"firstcode": first, "secondcode": second})
    if fmt is Format.CSV:
        return csv_answer([{"firstcode": str(first), "secondcode": str(second)}])
    return _xml(ET.Element("result", firstcode=str(first), secondcode=str(second), count="0"))


def _xml(root: ET.Element) -> Response:
    body = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return Response(body, media_type="text/xml; charset=utf-8")
