"""One payment followed through the JSON logs of two nodes: begun on one ``ips serve``, it comes
back from the issuer's 3-D Secure page to another, which authorizes it. Each request's lines
carry its id, and every line about the payment, on either node, its billnumber."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_nodes import add_shop, cluster
from tests.simulator_browser import form_on, new_browser

ENROLLED = "4000000000003220"
"""The card of 3-D Secure: the simulated issuer's page takes the code 1234."""


def lines_of(pid: int) -> list[dict[str, Any]]:
    """The JSON lines of the ``ips serve`` process ``pid``, from its file in ``IPS_LOG_DIR``
    (``tests/leaks.py`` sets it for the whole run)."""
    written = Path(os.environ["IPS_LOG_DIR"]) / f"ips-serve-{pid}.log"
    return [json.loads(line) for line in written.read_text().splitlines()]


def of_request(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    found = [line for line in lines if line.get("request_id") == request_id]
    assert found, f"no line of request {request_id}"
    return found


async def test_a_payment_followed_through_two_nodes_by_its_request_ids(
    tmp_path: Path, database_url: str
) -> None:
    with cluster(tmp_path, database_url) as nodes:
        add_shop(nodes)
        bank = f"http://127.0.0.1:{nodes.bank_port}"
        a = nodes.serve("--processing-http", bank)
        node_a = nodes.processes[-1].pid
        b = nodes.serve("--processing-http", bank)
        node_b = nodes.processes[-1].pid

        async with new_browser() as browser:
            browser.timeout = httpx.Timeout(30)
            asked = await browser.get(
                f"{a}/pay/order.cfm",
                params={"Merchant_ID": "111111", "OrderNumber": "LOGS-1", "OrderAmount": "10.00",
                        "OrderCurrency": "RUB", "URL_RETURN_OK": "https://shop.example/ok",
                        "URL_RETURN_NO": "https://shop.example/no"},
                headers={"X-Request-ID": "order-on-a"},
            )  # fmt: skip
            billnumber = asked.headers["location"].rsplit("/", 1)[1]
            form = await browser.get(f"{a}/pay/{billnumber}/card")
            token = re.search(r'name="token" value="([^"]+)"', form.text)
            assert token is not None, form.text
            sent = await browser.post(
                f"{a}/pay/{billnumber}/card",
                data={"token": token.group(1), "card_number": ENROLLED, "exp_month": "12",
                      "exp_year": "2030", "cvc": "123", "cardholder": "IVAN PETROV"},
                headers={"X-Request-ID": "pay-on-a"},
            )  # fmt: skip
            assert sent.status_code == 303 and sent.headers["location"].startswith(bank)
            issuer = form_on(browser, await browser.get(sent.headers["location"]))
            answered = await issuer.post(code="1234", action="submit")
            back = answered.headers["location"]
            assert back.startswith(f"{a}/pay/{billnumber}/3ds")
            returned = await browser.get(
                back.replace(a, b, 1), headers={"X-Request-ID": "back-on-b"}
            )
            assert returned.headers["location"].startswith("https://shop.example/ok?")
            assert returned.headers["X-Request-ID"] == "back-on-b"

        on_a, on_b = lines_of(node_a), lines_of(node_b)
        for lines, request_id in ((on_a, "order-on-a"), (on_a, "pay-on-a"), (on_b, "back-on-b")):
            its = of_request(lines, request_id)
            assert all(line["billnumber"] == billnumber for line in its), its
            assert all(line["process"] == "ips serve" for line in its)
        begun = [line["message"] for line in of_request(on_a, "pay-on-a")]
        assert f"payment {billnumber}.1 of 10.00 RUB begun: card, then authentication" in begun
        [authorized] = [
            line
            for line in of_request(on_b, "back-on-b")
            if "the authorization answered 00" in line["message"]
        ]
        assert authorized["operation"] == f"{billnumber}.1" and authorized["stan"]
        assert authorized["merchant_id"] == "111111" and authorized["pid"] == node_b
        for lines in (on_a, on_b):  # a search by the billnumber finds the lines of both
            about = [line for line in lines if billnumber in json.dumps(line)]
            assert about and all(line.get("billnumber") == billnumber for line in about)
