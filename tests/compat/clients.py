"""How public Assist clients read IPS's answers, one function per client behaviour.

Each function does what the client's code does with the HTTP answer (the sources S1…S23 are
described in ``docs/research/assist-clients.md``) and fails — raising ``ClientFailure`` or a
``KeyError``/``ValueError``/``TypeError``, as the client would crash — when that client could
not use the answer. Requests are sent by the tests themselves, spelt as each client spells
them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import httpx


class ClientFailure(Exception):
    """The client reports an error (it read the codes, or could not read the answer)."""


def _root(response: httpx.Response) -> ET.Element:
    if response.status_code != 200:
        raise ClientFailure(f"HTTP {response.status_code}")
    return ET.fromstring(response.content)


def _fields(element: ET.Element) -> dict[str, str]:
    """Child elements without children, by lower-cased name, text unstripped (S2)."""
    return {child.tag.lower(): child.text or "" for child in element if len(child) == 0}


# --- XML clients -----------------------------------------------------------------------


def s2_last(response: httpx.Response, path: str = "order") -> dict[str, str]:
    """S2 (Ruby gem ``assist_api``): HTTP 200, root ``result`` whose ``firstcode`` is the
    string ``'0'``, then the **last** element at ``path`` (``order`` for orderstate,
    ``orders/order`` for charge and cancel)."""
    root = _root(response)
    if root.tag != "result" or root.get("firstcode") != "0":
        raise ClientFailure(f"firstcode {root.get('firstcode')!r}")
    found = root.findall(path)
    if not found:
        raise ClientFailure(f"no {path}")
    return _fields(found[-1])


def first_order(response: httpx.Response, path: str = "order") -> dict[str, str]:
    """S4 (Bitrix), S7 (Magento), S12 (MODX), S19 (C#): ``(int)firstcode || (int)secondcode``
    is an error — so success must be 0/0 — then the **first** element at ``path``."""
    root = _root(response)
    if int(root.attrib["firstcode"]) or int(root.attrib["secondcode"]):
        raise ClientFailure(f"{root.attrib['firstcode']}/{root.attrib['secondcode']}")
    element = root.find(path)
    if element is None:
        raise ClientFailure(f"no {path}")
    return _fields(element)


def any_approved(response: httpx.Response) -> bool:
    """S10 (CS-Cart), S17 (Django poller): any ``order/orderstate`` that is ``Approved``."""
    return any(state.text == "Approved" for state in _root(response).findall("order/orderstate"))


def exactly_one_order(response: httpx.Response) -> dict[str, str]:
    """S15 (``json(simplexml)['order']``) and S21 (Rails ``Hash.from_xml``) break when
    ``order`` is a list: they need exactly one."""
    root = _root(response)
    found = root.findall("order")
    if root.attrib["firstcode"] != "0" or len(found) != 1:
        raise ClientFailure(f"{len(found)} orders")
    return _fields(found[0])


def s5_last_operation(response: httpx.Response) -> tuple[dict[str, str], dict[str, str]]:
    """S5 (Bitrix ``sale_payment/assist``, orderresult): ``firstcode == "0"`` and
    ``count > 0``; ``count`` used as an index: ``order[count-1]``; then the last
    ``operation`` directly inside it. Returns that order and that operation."""
    root = _root(response)
    count = int(root.attrib["count"])
    if root.attrib["firstcode"] != "0" or count <= 0:
        raise ClientFailure("no result")
    order = root.findall("order")[count - 1]
    return _fields(order), _fields(order.findall("operation")[-1])


@dataclass(frozen=True)
class S16Result:
    firstcode: int
    secondcode: int
    count: int
    orders: list[dict[str, str]]


def s16(response: httpx.Response) -> S16Result:
    """S16 (Taxi5 Android, SimpleXML binding): ``result`` with the required integer
    attributes ``firstcode``, ``secondcode``, ``count`` and, on success, the required element
    ``orders`` holding ``order`` elements."""
    root = _root(response)
    first, second, count = (int(root.attrib[name]) for name in ("firstcode", "secondcode", "count"))
    orders = root.find("orders")
    if first == 0 and orders is None:
        raise ClientFailure("the required element orders is missing")
    found = [] if orders is None else [_fields(order) for order in orders.findall("order")]
    return S16Result(first, second, count, found)


def s9_accepts(response: httpx.Response) -> bool:
    """S9 (nopCommerce): an answer without the text ``?xml`` is "not paid"."""
    return "?xml" in response.text


# --- S1, the official PHP SDK (JSON) ---------------------------------------------------


def s1_body(response: httpx.Response) -> dict[str, Any]:
    """S1 reads only the HTTP status (any other than 200 is retried, then thrown), then the
    body as a JSON object."""
    if response.status_code != 200:
        raise ClientFailure(f"HTTP {response.status_code}")
    body = json.loads(response.text)
    if not isinstance(body, dict):
        raise ClientFailure("not a JSON object")
    return body


def _strings(obj: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """Typed ``string`` properties: present, never null."""
    for name in names:
        if not isinstance(obj[name], str):
            raise TypeError(f"{name} is {obj[name]!r}, not a string")
    return {name: obj[name] for name in names}


def _number(value: str) -> float:
    """A PHP ``int``/``float`` property fed a numeric string: ``""`` is a TypeError."""
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{value!r} is not numeric")
    return float(value)


def s1_orderstate(response: httpx.Response) -> dict[str, str]:
    """``OrderStateResponse``: ``orderstate`` is ONE object (``ordernumber``, ``billnumber``,
    ``orderamount`` (int), ``ordercurrency``, ``orderstate``) with ``checkdata.packetdate``."""
    state = s1_body(response)["orderstate"]
    if not isinstance(state, dict):
        raise TypeError("orderstate is not an object")
    fields = _strings(
        state, ("ordernumber", "billnumber", "orderamount", "ordercurrency", "orderstate")
    )
    _number(fields["orderamount"])
    checkdata = state["checkdata"]
    return fields | _strings(checkdata, ("packetdate", "signature", "checkvalue"))


CHARGE = (
    "customermessage", "message", "testmode", "operationtype", "orderdate", "packetdate",
    "orderamount", "ordercomment", "cardexpirationdate", "ordercurrency", "recommendation",
    "processingname", "meannumber", "orderstate", "rate", "amount", "responsecode",
    "meantypename", "protocoltypename", "bankcountry", "cardholder", "approvalcode", "slipno",
    "signature", "billnumber", "issuebank", "currency", "ordernumber", "meansubtype",
)  # fmt: skip
"""``ChargeResponse`` / ``Model\\Charge``: read flat under ``charge``."""

ORDER = (
    "billnumber", "ordernumber", "testmode", "ordercomment", "orderamount", "ordercurrency",
    "orderdate", "orderstate",
)  # fmt: skip
"""``Model\\Order``: required, non-null."""

OPERATION = (
    "operationtype", "amount", "currency", "ipaddress", "meansubtype", "meannumber",
    "cardexpirationdate", "issuebank", "bankcountry", "responsecode", "message",
    "customermessage", "recommendation", "protocoltypename", "processingname",
)  # fmt: skip
"""``Model\\Operation``: required, non-null."""


def s1_charge(response: httpx.Response) -> dict[str, str]:
    """``ChargeResponse``: every field flat under ``charge``; ``testmode``, ``operationtype``,
    ``rate`` numeric; ``orderamount``, ``amount`` numbers."""
    charge = _strings(s1_body(response)["charge"], CHARGE)
    for name in ("testmode", "operationtype", "rate", "orderamount", "amount"):
        _number(charge[name])
    return charge


def _s1_order(order: dict[str, Any]) -> dict[str, str]:
    fields = _strings(order, ORDER)
    _number(fields["testmode"])
    return fields


def s1_wscancel(response: httpx.Response) -> tuple[dict[str, str], dict[str, str]]:
    """``CancelResponse``: ``wscancel.order`` through ``Model\\Order`` and ``wscancel.checkdata``
    (read without a default)."""
    answer = s1_body(response)["wscancel"]
    return _s1_order(answer["order"]), _strings(answer["checkdata"], ("packetdate",))


def s1_orderresult(response: httpx.Response) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """``OrderResultResponse``: ``orderresult.orders``, each a ``Model\\Order`` with its
    ``operations`` (``Model\\Operation``: ``operationtype`` int, ``amount`` number)."""
    orders = []
    for order in s1_body(response)["orderresult"]["orders"]:
        operations = [_strings(op, OPERATION) for op in order.get("operations", [])]
        for op in operations:
            _number(op["operationtype"])
            _number(op["amount"])
        orders.append((_s1_order(order), operations))
    return orders


def s1_payrequest(response: httpx.Response) -> dict[str, str]:
    """``CreatePaymentResponse``: top-level ``URL`` (upper case), ``orderstate``,
    ``expirationtime``, typed ``string``."""
    return _strings(s1_body(response), ("URL", "orderstate", "expirationtime"))
