"""End to end: ``ips processing-center`` and ``ips serve`` as real processes, paid through HTTP.

This is what a new user does after reading the README, with the processing center as a
separate process so its books can be read independently of IPS.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demobank.ledger import Ledger
from ips.crypto.keyring import KeyRing
from ips.domain.audit import CHANGED, ActorKind, AuditEntry
from ips.domain.checkvalue import answer_checkvalue
from ips.services.audit import trail
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.banks import handed_in_report
from tests.processes import free_port, run_ips, wait_for_port
from tests.shop import Shop


@dataclass
class Installation:
    url: str
    store: Path
    cwd: Path
    env: dict[str, str]
    shop_port: int

    def ips(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_ips(*args, cwd=self.cwd, env=self.env)


@pytest.fixture
def installation(tmp_path: Path, database_url: str) -> Iterator[Installation]:
    shop_port = free_port()
    env = {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_PROCESSING_TIMEOUT": "1",
        "IPS_NOTIFICATION_PORTS": str(shop_port),
        "IPS_NOTIFICATION_INTERVAL": "0.2",
        "IPS_NOTIFICATION_NETWORKS": "127.0.0.0/8",  # the shop below is on 127.0.0.1
    }
    processes: list[subprocess.Popen[str]] = []
    try:
        pc_port, http_port, bank_http = free_port(), free_port(), free_port()
        store = tmp_path / "bank.sqlite3"
        processing = subprocess.Popen(
            [sys.executable, "-m", "ips", "processing-center", "--port", str(pc_port),
             "--http-port", str(bank_http), "--store", str(store), "--name", "BANK-A"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        processes.append(processing)
        wait_for_port(pc_port, processing, lambda: processing.communicate()[0])
        added = run_ips(
            "merchant", "add", "--merchant-id", "111111", "--name", "Demo Shop", "--login",
            "shop", "--password", "shop-password", "--secret-word", "secret",
            "--return-host", "shop.example", "--double-stage",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        server = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", "--port", str(http_port), "--processing",
             f"127.0.0.1:{pc_port}"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        processes.append(server)
        wait_for_port(http_port, server, lambda: server.communicate()[0])
        yield Installation(
            f"http://127.0.0.1:{http_port}",
            store,
            tmp_path,
            env
            | {
                "IPS_PROCESSING": f"127.0.0.1:{pc_port}",
                "IPS_PROCESSING_HTTP": f"http://127.0.0.1:{bank_http}",
            },
            shop_port,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            output, _ = process.communicate(timeout=20)
            assert "4111111111111111" not in output and "4000000000000119" not in output
            assert "Traceback" not in output, output


async def pay(
    http: httpx.AsyncClient, ordernumber: str, number: str, **extra: str
) -> httpx.Response:
    """A buyer: payment request, card page, Pay; returns the answer to Pay."""
    request = await http.get(
        "/pay/order.cfm",
        params={
            "Merchant_ID": "111111",
            "OrderNumber": ordernumber,
            "OrderAmount": "100.00",
            "OrderCurrency": "RUB",
            "URL_RETURN_OK": "https://shop.example/ok",
            "URL_RETURN_NO": "https://shop.example/no",
            **extra,
        },
    )
    assert request.status_code == 303, request.text
    return await pay_on_page(http, request.headers["location"], number)


async def pay_on_page(http: httpx.AsyncClient, card_page: str, number: str) -> httpx.Response:
    """A buyer on the order's page (``/pay/BILLNUMBER``) pays with the card ``number``."""
    token = re.search(r'name="token" value="([^"]+)"', (await http.get(card_page)).text)
    assert token is not None
    return await http.post(
        f"{card_page}/card",
        data={
            "token": token.group(1),
            "card_number": number,
            "exp_month": "12",
            "exp_year": "2030",
            "cvc": "123",
            "cardholder": "IVAN PETROV",
        },
    )


async def orderstate(http: httpx.AsyncClient, ordernumber: str) -> dict[str, str]:
    answer = await http.post(
        "/orderstate/orderstate.cfm",
        data={"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password",
              "OrderNumber": ordernumber, "Format": "3"},
    )  # fmt: skip
    result = ET.fromstring(answer.content)
    assert result.attrib["firstcode"] == "0", answer.text
    return {child.tag: child.text or "" for child in result.findall("order")[-1]}


async def test_a_buyer_pays_and_the_shop_sees_it(installation: Installation) -> None:
    async with httpx.AsyncClient(base_url=installation.url, timeout=30) as http:
        paid = await pay(http, "E2E-1", "4111111111111111")
        assert paid.status_code == 303
        assert paid.headers["location"].startswith("https://shop.example/ok?billnumber=")
        state = await orderstate(http, "E2E-1")
        assert state["orderstate"] == "Approved" and state["orderamount"] == "100.00"
        assert state["checkvalue"] == answer_checkvalue(
            "secret", "111111", "E2E-1", "100.00", "RUB", "Approved"
        )

        for n, number in enumerate(["4000000000000002", "4000000000009995"]):
            declined = await pay(http, f"E2E-D{n}", number)
            assert re.fullmatch(r"/pay/\d+", declined.headers["location"])  # to try again
            assert (await orderstate(http, f"E2E-D{n}"))["orderstate"] == "Declined"

        unanswered = await pay(http, "E2E-T", "4000000000000119")
        assert re.fullmatch(r"/pay/\d+", unanswered.headers["location"])
        assert (await orderstate(http, "E2E-T"))["orderstate"] == "Declined"

        again = await http.get(
            "/pay/order.cfm",
            params={"Merchant_ID": "111111", "OrderNumber": "E2E-1", "OrderAmount": "100.00",
                    "Language": "EN"},
        )  # fmt: skip
        assert again.status_code == 400 and "already paid" in again.text

        metrics = await http.get("/metrics")  # from the node's own host: no token needed
        assert metrics.status_code == 200
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(metrics.text)
            for sample in family.samples
        }
        card = (("acquirer", "default"),)
        for outcome, count in (("approved", 1), ("declined", 2), ("timeout", 1)):
            payments = (*card, ("outcome", outcome), ("way", "card"))
            assert samples[("ips_payments_total", payments)] == count
        assert samples[("ips_iso8583_link_up", card)] == 1
        assert samples[("ips_iso8583_timeouts_total", (*card, ("mti", "0100")))] == 1

    async with await Ledger.open(installation.store) as ledger:
        holds = await ledger.holds()
        active = await ledger.active_holds()
    assert len(holds) == 2  # the approved payment and the unanswered one
    assert [h.amount.minor for h in active] == [10000]


AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password", "Format": "3"}


async def web_service(http: httpx.AsyncClient, path: str, **params: str) -> dict[str, str]:
    result = ET.fromstring((await http.post(path, data={**AUTH, **params})).content)
    assert result.attrib["firstcode"] == "0", ET.tostring(result)
    return {child.tag: child.text or "" for child in result.findall("orders/order")[-1]}


async def test_a_shop_confirms_cancels_settles_and_reconciles(installation: Installation) -> None:
    async with httpx.AsyncClient(base_url=installation.url, timeout=30) as http:
        paid = await pay(http, "E2E-2S", "4111111111111111", Delay="1")
        bill = parse_qs(urlsplit(paid.headers["location"]).query)["billnumber"][0]
        assert (await orderstate(http, "E2E-2S"))["orderstate"] == "Delayed"
        for amount, state in (("40.00", "PartialDelayed"), ("60.00", "Approved")):
            charged = await web_service(
                http, "/charge/charge.cfm", Billnumber=bill, Amount=amount, Currency="RUB"
            )
            assert charged["orderstate"] == state
        cancelled = await web_service(
            http, "/cancel/cancel.cfm", Billnumber=bill, Amount="30.00", Currency="RUB"
        )
        assert cancelled["orderstate"] == "PartialCanceled"

        settled = installation.ips("settle")
        assert settled.returncode == 0, settled.stderr
        assert "RUB accepted" in settled.stdout and "70.00" in settled.stdout

        rest = await web_service(http, "/cancel/cancel.cfm", Billnumber=bill)
        assert rest["orderstate"] == "Canceled" and rest["amount"] == "70.00"
        assert installation.ips("settle").returncode == 0

    reconciled = installation.ips("reconcile")  # the report fetched from IPS_PROCESSING_HTTP
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "no differences" in reconciled.stdout
    handed_in = handed_in_report(installation.store, installation.cwd / "report.json")
    reconciled = installation.ips("reconcile", "--report", str(handed_in))
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "no differences" in reconciled.stdout
    others = handed_in_report(installation.store, installation.cwd / "other.json", "20000000002")
    refused = installation.ips("reconcile", "--report", str(others))
    assert refused.returncode == 2
    assert "the report is for acquirer id 20000000002, not 10000000001" in refused.stderr

    assert installation.ips("rate", "set", "USD", "RUB", "92.5").returncode == 0
    listed = installation.ips("rate", "list")
    assert "1 USD = 92.5 RUB" in listed.stdout


async def test_an_operator_changes_disables_and_enables_a_merchant(
    installation: Installation,
) -> None:
    """The seed's "consult support first": the operator switches double-stage payments off and
    on for a shop; a disabled shop takes no new order while its orders' web services and
    cancels go on."""
    changed = installation.ips("merchant", "set", "--merchant-id", "111111", "--no-double-stage")
    assert changed.returncode == 0, changed.stderr
    shown = installation.ips("merchant", "show", "--merchant-id", "111111").stdout
    assert re.search(r"^double_stage +no$", shown, re.M) and "shop-password" not in shown
    async with httpx.AsyncClient(base_url=installation.url, timeout=30) as http:
        refused = await http.get("/pay/order.cfm", params={
            "Merchant_ID": "111111", "OrderNumber": "E2E-M1", "OrderAmount": "100.00",
            "OrderCurrency": "RUB", "Delay": "1", "Language": "EN"})  # fmt: skip
        assert refused.status_code == 400 and "double-stage" in refused.text
        assert (
            installation.ips(
                "merchant", "set", "--merchant-id", "111111", "--double-stage"
            ).returncode
            == 0
        )
        held = await pay(http, "E2E-M1", "4111111111111111", Delay="1")
        bill = parse_qs(urlsplit(held.headers["location"]).query)["billnumber"][0]
        assert (await orderstate(http, "E2E-M1"))["orderstate"] == "Delayed"
        off = installation.ips("merchant", "set", "--merchant-id", "111111", "--no-double-stage")
        assert "1 hold stays open until confirmed or released" in off.stdout, off.stdout

        disabled = installation.ips("merchant", "disable", "--merchant-id", "111111")
        assert disabled.returncode == 0 and "takes no new orders" in disabled.stdout
        closed = await http.get("/pay/order.cfm", params={
            "Merchant_ID": "111111", "OrderNumber": "E2E-M2", "OrderAmount": "100.00",
            "OrderCurrency": "RUB", "Language": "EN"})  # fmt: skip
        assert closed.status_code == 400 and "takes no new orders" in closed.text
        assert (await orderstate(http, "E2E-M1"))["orderstate"] == "Delayed"
        cancelled = await web_service(http, "/cancel/cancel.cfm", Billnumber=bill)
        assert cancelled["orderstate"] == "Canceled"

        assert installation.ips("merchant", "enable", "--merchant-id", "111111").returncode == 0
        paid = await pay(http, "E2E-M2", "4111111111111111")
        assert paid.headers["location"].startswith("https://shop.example/ok")
    wrong = installation.ips(
        "merchant", "set", "--merchant-id", "111111", "--payment-attempts", "0"
    )
    assert wrong.returncode == 1 and "payment attempts are 1 to 10" in wrong.stderr
    assert re.search(r"^payment_attempts +3$", installation.ips(
        "merchant", "show", "--merchant-id", "111111").stdout, re.M)  # fmt: skip


async def test_the_shop_is_notified_of_the_payment(installation: Installation) -> None:
    shop = Shop(port=installation.shop_port)
    await shop.open()
    try:
        added = installation.ips(
            "merchant", "add", "--merchant-id", "222222", "--name", "Notified Shop", "--login",
            "n", "--password", "n-password", "--secret-word", "salt-2", "--callback-url",
            shop.url, "--return-host", "shop.example",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        async with httpx.AsyncClient(base_url=installation.url, timeout=30) as http:
            request = await http.get(
                "/pay/order.cfm",
                params={"Merchant_ID": "222222", "OrderNumber": "N-1", "OrderAmount": "12.34"},
            )
            card_page = request.headers["location"]
            token = re.search(r'name="token" value="([^"]+)"', (await http.get(card_page)).text)
            assert token is not None
            await http.post(
                f"{card_page}/card",
                data={"token": token.group(1), "card_number": "4111111111111111",
                      "exp_month": "12", "exp_year": "2030", "cvc": "123"},
            )  # fmt: skip
        for _ in range(100):
            if shop.received:
                break
            await asyncio.sleep(0.1)
    finally:
        await shop.close()
    [fields] = shop.received
    assert fields["ordernumber"] == "N-1" and fields["orderstate"] == "Approved"
    assert fields["checkvalue"] == answer_checkvalue(
        "salt-2", "222222", "N-1", "12.34", "RUB", "Approved"
    )


async def test_a_user_added_on_the_command_line_signs_in_to_the_cabinet(
    installation: Installation,
) -> None:
    added = installation.ips(
        "user", "add", "--merchant-id", "111111", "--login", "anna", "--role", "admin",
        "--password", "correct horse battery",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user anna (admin) added to merchant 111111" in added.stdout
    for args, said in (
        (("--merchant-id", "111111", "--login", "anna", "--password", "another long one"),
         "this login is taken"),
        (("--merchant-id", "999999", "--login", "bob", "--password", "another long one"),
         "no merchant"),
        (("--merchant-id", "111111", "--login", "bob", "--password", "short"),
         "10 to 200 characters"),
    ):  # fmt: skip
        refused = installation.ips("user", "add", *args)
        assert refused.returncode == 1 and said in refused.stderr

    async with httpx.AsyncClient(base_url=installation.url) as http:
        form = await http.get("/cabinet/login")
        token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert token is not None
        signed = await http.post(
            "/cabinet/login",
            data={"login": "anna", "password": "correct horse battery", "token": token[1]},
        )
    assert signed.status_code == 303 and signed.headers["location"] == "/cabinet/orders"
    assert signed.headers["set-cookie"].startswith("__Host-ips-session=")


async def test_an_integrator_makes_an_order_with_the_json_api_and_captures_and_refunds_it(
    installation: Installation,
) -> None:
    """docs/json-api.md as a new integrator follows it: a key, an order made, paid on the
    hosted page, captured in part, settled, and refunded, each POST sent twice with its key."""
    made_key = installation.ips("apikey", "create", "--merchant-id", "111111", "--name", "e2e")
    assert made_key.returncode == 0, made_key.stderr
    token = made_key.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=installation.url, timeout=30, headers=headers) as api:

        async def twice(path: str, body: dict[str, object], key: str) -> dict[str, object]:
            answers = [
                await api.post(path, json=body, headers={"Idempotency-Key": key}) for _ in range(2)
            ]
            assert answers[0].status_code == 201, answers[0].text
            assert answers[1].json() == answers[0].json()
            assert answers[1].headers["idempotent-replayed"] == "true"
            result: dict[str, object] = answers[0].json()
            return result

        order = await twice(
            "/api/v1/orders",
            {"order_number": "JSON-1", "amount": 10000, "currency": "RUB", "capture": "manual",
             "return_url_ok": "https://shop.example/ok"},
            "order-json-1",
        )  # fmt: skip
        bill = str(order["billnumber"])
        paid = await pay_on_page(api, urlsplit(str(order["payment_url"])).path, "4111111111111111")
        assert paid.headers["location"].startswith("https://shop.example/ok"), paid.text
        assert (await api.get(f"/api/v1/orders/{bill}")).json()["state"] == "Delayed"

        captured = await twice(
            f"/api/v1/orders/{bill}/captures", {"amount": 6000, "currency": "RUB"}, "capture-1"
        )
        assert captured["order"]["state"] == "PartialDelayed"  # type: ignore[index]
        assert installation.ips("settle").returncode == 0
        refunded = await twice(f"/api/v1/orders/{bill}/cancels", {}, "cancel-1")
        operation = refunded["operation"]
        assert operation["method"] == "both"  # type: ignore[index]
        assert refunded["order"]["state"] == "Canceled"  # type: ignore[index]


def test_an_operator_adds_lists_rolls_and_removes_a_webhook_endpoint(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "IPS_DATABASE_URL": database_url, "IPS_NOTIFICATION_PORTS": "443"}

    def ips(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ips(*args, cwd=tmp_path, env=env)

    assert ips(
        "merchant", "add", "--merchant-id", "333333", "--name", "Hooked", "--login", "hooked",
        "--password", "hooked-password", "--secret-word", "salt",
    ).returncode == 0  # fmt: skip
    added = ips("webhook", "add", "--merchant-id", "333333", "--url", "https://shop.example/h",
                "--events", "order.approved,refund.succeeded")  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = ips("webhook", "list", "--merchant-id", "333333").stdout
    [endpoint_id] = re.findall(r"\bwe_\w+", listed)
    assert "https://shop.example/h" in listed and secret not in listed

    rolled = ips("webhook", "roll", "--merchant-id", "333333", endpoint_id)
    assert rolled.returncode == 0, rolled.stderr
    new_secret = rolled.stdout.strip().splitlines()[-1]
    assert new_secret.startswith("whsec_") and new_secret != secret

    wrong_port = ips(
        "webhook", "add", "--merchant-id", "333333", "--url", "http://shop.example:8080/h"
    )
    assert wrong_port.returncode == 1 and "443" in wrong_port.stderr
    assert ips("webhook", "remove", "--merchant-id", "333333", endpoint_id).returncode == 0
    assert endpoint_id not in ips("webhook", "list", "--merchant-id", "333333").stdout
    again = ips("webhook", "remove", "--merchant-id", "333333", endpoint_id)
    assert again.returncode == 1 and "no endpoint" in again.stderr


def test_an_operator_s_merchant_commands_are_in_the_audit_trail(
    tmp_path: Path, database_url: str
) -> None:
    """Who ran each command (the system user, on this host), and what it changed: only the
    settings that changed, secrets as CHANGED."""
    env = {**os.environ, "IPS_DATABASE_URL": database_url}

    def ips(*args: str) -> subprocess.CompletedProcess[str]:
        done = run_ips(*args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        return done

    ips("merchant", "add", "--merchant-id", "444444", "--name", "Audited", "--login", "aud",
        "--password", "aud-password", "--secret-word", "salt-4", "--double-stage")  # fmt: skip
    changed = ips("merchant", "set", "--merchant-id", "444444", "--name", "Audited Shop",
                  "--secret-word", "salt-5", "--currency", "RUB", "--no-double-stage")  # fmt: skip
    assert "changed: name, double_stage, secret_word" in changed.stdout
    assert "double-stage is off for new orders" in changed.stdout
    same = ips("merchant", "set", "--merchant-id", "444444", "--name", "Audited Shop")
    assert "every setting was as given already" in same.stdout
    ips("merchant", "disable", "--merchant-id", "444444")
    ips("merchant", "enable", "--merchant-id", "444444")

    async def read() -> list[AuditEntry]:
        database = Database(create_engine(database_url), KeyRing.load_or_create(tmp_path / "k"))
        try:
            return await trail(database, merchant_id="444444")
        finally:
            await database.dispose()

    enabled, disabled, set_, added = asyncio.run(read())
    who = {(e.actor.kind, e.actor.name) for e in (enabled, disabled, set_, added)}
    assert who == {(ActorKind.COMMAND, getpass.getuser())}
    assert [e.action for e in (enabled, disabled, set_, added)] == [
        "merchant.enable", "merchant.disable", "merchant.change", "merchant.add",
    ]  # fmt: skip
    assert (disabled.before, disabled.after) == ({"disabled": False}, {"disabled": True})
    assert set_.before == {"name": "Audited", "double_stage": True, "secret_word": None}
    assert set_.after == {"name": "Audited Shop", "double_stage": False, "secret_word": CHANGED}
    assert added.after is not None and added.after["password"] == CHANGED
    assert "aud-password" not in str(added.after) and "salt-4" not in str(added.after)
