"""The application's last resort: an error no route caught is answered 503 with the security
headers, logged once with its traceback, and the access log keeps no query string."""

from __future__ import annotations

import logging

import httpx
import pytest

from ips.crypto.tokens import FormTokens
from ips.services.gateway import Gateway
from ips.web.app import create_app
from ips.web.services import Services


async def test_an_error_no_route_caught_is_a_503_with_the_headers(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Services(gateway, FormTokens(gateway.keyring.derive("form tokens"))))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ips.test") as http:
        with caplog.at_level(logging.INFO):
            answer = await http.get("/broken?Password=secret")
    assert answer.status_code == 503 and "could not complete" in answer.text
    assert answer.headers["x-frame-options"] == "DENY"
    assert "nonce-" in answer.headers["content-security-policy"]
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.exc_info is not None and "a bug" in str(failure.exc_info[1])
    [access] = [r for r in caplog.records if r.name == "ips.access"]
    assert access.getMessage().startswith("GET /broken 503 ")
    assert not any("secret" in r.getMessage() for r in caplog.records if r.name.startswith("ips"))
    caplog.clear()  # the error was meant: the suite's guard against unhandled errors may pass
