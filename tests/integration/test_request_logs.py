"""A request's id, and one payment followed through its JSON log lines: each request's lines
carry its id, every line about the payment its billnumber — in the requests that make it, in
the messages to the processing center (with their STAN) and in the worker that notifies the
shop."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from ips.domain.notifications import AnswerMode
from ips.logs.context import known, scope
from ips.logs.formats import Context, JsonFormatter
from ips.services.gateway import Gateway
from ips.services.merchants import add_merchant
from ips.services.notifications import Delivery, Reply, deliver_due
from ips.storage.unit_of_work import Database
from ips.web.app import Guard
from tests.conftest import MERCHANT, SETUP, RealProcessing, make_client
from tests.integration.test_http_payment import REQUEST, card_form

Line = dict[str, Any]


class Written:
    """The JSON lines IPS writes, as an ``ips serve`` writes them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[Line]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def written() -> Iterator[Written]:
    """What IPS logs from now on, DEBUG and all."""
    log = Written()
    handler = logging.StreamHandler(log.stream)
    handler.addFilter(Context())
    handler.setFormatter(JsonFormatter("ips serve"))
    ips = logging.getLogger("ips")
    level = ips.level
    ips.setLevel(logging.DEBUG)
    ips.addHandler(handler)
    yield log
    ips.removeHandler(handler)
    ips.setLevel(level)


async def logging_app(scope_: Scope, receive: Receive, send: Send) -> None:
    logging.getLogger("ips.test").info("handled")
    await PlainTextResponse(str(dict(known())))(scope_, receive, send)


@pytest.fixture
def guarded() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Guard(logging_app)), base_url="http://ips.test"
    )


async def test_the_callers_request_id_is_taken_and_given_back(
    guarded: httpx.AsyncClient, written: Written
) -> None:
    rid = "3f2a9c1e-7b4d-4e8a-9f01-23456789abcd"
    with scope(billnumber="1000000000000001"):  # the test's, which the request knows nothing of
        answer = await guarded.get("/x", headers={"X-Request-ID": rid})
    assert answer.headers["X-Request-ID"] == rid
    assert answer.text == str({"request_id": rid})
    handled, access = written.lines()
    assert handled["message"] == "handled" and access["message"].startswith("GET /x 200 ")
    assert handled["request_id"] == access["request_id"] == rid
    assert dict(known()) == {}  # the request's id stays with the request


INSANE = [
    None, "", "a" * 129, "with space", "new\nline", 'quo"te', "ünïcode", "-leading-dash",
    "4111111111111111", "pan-4111-1111-1111-1111",
]  # fmt: skip
"""Request ids IPS does not take: none, too long, what a log line or a header would have to
escape, a card number."""


@pytest.mark.parametrize("sent", INSANE)
async def test_a_missing_or_insane_request_id_is_replaced_by_a_new_one(
    guarded: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {b"X-Request-ID": sent.encode()}
    first = await guarded.get("/x", headers=headers)
    second = await guarded.get("/x", headers=headers)
    given = first.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", given) and given != sent
    assert second.headers["X-Request-ID"] != given


class Shop:
    """A shop's server that takes every notification."""

    def __init__(self) -> None:
        self.posted: list[Mapping[str, str]] = []

    async def post(self, url: str, fields: Mapping[str, str]) -> Reply:
        self.posted.append(fields)
        return Reply(200, "OK")

    async def post_json(self, url: str, body: str, headers: Mapping[str, str]) -> Reply:
        return Reply(200, "")


async def test_one_payment_followed_through_its_lines(
    database: Database, real_processing: RealProcessing, written: Written
) -> None:
    gateway = Gateway(database, real_processing.client, database.keyring)
    notified = dataclasses.replace(
        MERCHANT, callback_url="https://shop.example/paid", notify_answer=AnswerMode.PLAIN
    )
    await add_merchant(notified, database, actor=SETUP)
    async with make_client(gateway) as buyer:
        asked = await buyer.post("/pay/order.cfm", data=REQUEST, headers={"X-Request-ID": "o-1"})
        page = asked.headers["location"]
        form = await buyer.get(page, headers={"X-Request-ID": "p-1"})
        token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert token is not None
        paid = await buyer.post(
            f"{page}/card", data=card_form(token.group(1)), headers={"X-Request-ID": "c-1"}
        )
    assert paid.status_code == 303 and paid.headers["X-Request-ID"] == "c-1"
    shop = Shop()
    with scope(job="notifications"):
        assert await deliver_due(Delivery(database, shop, gateway.clock)) == 1
    billnumber = page.rsplit("/", 1)[1]
    assert shop.posted[0]["billnumber"] == billnumber  # a payment's is its order's

    everything = written.lines()
    by_request = {rid: [line for line in everything if line.get("request_id") == rid]
                  for rid in ("o-1", "p-1", "c-1")}  # fmt: skip
    assert all(by_request.values()), everything
    for rid, its_lines in by_request.items():
        assert all(line["billnumber"] == billnumber for line in its_lines), (rid, its_lines)
    payment = by_request["c-1"]
    messages = [line["message"] for line in payment]
    assert any(m.startswith(f"payment {billnumber}.1 of 100.00 RUB begun") for m in messages)
    assert any(m.startswith(f"payment {billnumber}.1: the authorization answered 00")
               for m in messages)  # fmt: skip
    assert messages[-1].startswith(f"POST /pay/{billnumber}/card 303")
    exchanged = [line for line in payment if line["message"].startswith(("sending", "received"))]
    assert len(exchanged) == 2, payment  # the 0100 and its answer, logged as this request's
    stan = exchanged[0]["stan"]
    assert re.fullmatch(r"[0-9]{6}", stan) and f"'11': '{stan}'" in exchanged[1]["message"]
    assert {line["operation"] for line in exchanged} == {f"{billnumber}.1"}
    assert payment[-1]["merchant_id"] == "111111" and payment[-1]["acquirer"] == "default"

    [told] = [line for line in everything if line.get("job") == "notifications"]
    assert told["billnumber"] == billnumber and told["merchant_id"] == "111111"
    assert "delivered" in told["message"] and "request_id" not in told
    about_it = [line for line in everything if billnumber in json.dumps(line)]
    assert all(line.get("billnumber") == billnumber for line in about_it), about_it
