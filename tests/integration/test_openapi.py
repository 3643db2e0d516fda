"""``/openapi.json``: the Assist routes as IPS describes them, and schemathesis run against
that description, in-process, on every operation.

Schemathesis makes requests from the description — valid ones, and (negative mode) ones that
break it — and each answer is checked: no server error, a status and a content type the
description declares, a JSON answer of the declared shape. The requests go through the same
ASGI client as the other tests, on the test's database (SQLite, and PostgreSQL when set).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ips.services.gateway import Gateway
from ips.web.assist.routes import router as assist_router
from tests.integration.test_money_operations import paid_order

EXAMPLES = 12
"""Examples per database; each sends one request to every operation."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def described(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_description_has_every_assist_route_and_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    document = await described(client)
    operations = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        (route.path, method)
        for route in assist_router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert "/pay/{billnumber}" not in document["paths"]


async def test_get_takes_query_parameters_and_post_a_form(client: httpx.AsyncClient) -> None:
    charge = (await described(client))["paths"]["/charge/charge.cfm"]
    query = {p["name"]: p for p in charge["get"]["parameters"]}
    assert {p["in"] for p in query.values()} == {"query"}
    assert {"Merchant_ID", "Login", "Password", "Billnumber", "Amount", "Currency"} <= set(query)
    assert query["Billnumber"]["required"] and not query["Amount"]["required"]
    assert "requestBody" not in charge["get"]
    form = charge["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert set(form["schema"]["properties"]) == set(query)
    assert set(form["schema"]["required"]) == {n for n, p in query.items() if p["required"]}
    assert "parameters" not in charge["post"]
    answers = charge["get"]["responses"]
    assert set(answers) == {"200"}
    assert set(answers["200"]["content"]) == {"text/xml", "application/json", "text/csv"}


async def test_the_description_is_valid_openapi(client: httpx.AsyncClient) -> None:
    schema = schemathesis.openapi.from_dict(await described(client))
    schema.validate()
    assert len(operations_of(schema)) == 16


def operations_of(schema: BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found


def prepared(case: Case[Any], base_url: str) -> requests.PreparedRequest:
    """The request as schemathesis sends it (it encodes with ``requests``)."""
    return requests.Request(**case.as_transport_kwargs(base_url=base_url)).prepare()


async def send(
    client: httpx.AsyncClient, case: Case[Any], base_url: str = "http://ips.test"
) -> httpx.Response:
    request = prepared(case, base_url)
    headers = {
        k: v if isinstance(v, str) else v.decode("latin-1")
        for k, v in request.headers.items()
        if k.lower() != "content-length"
    }
    assert request.method is not None and request.url is not None
    body = request.body.encode() if isinstance(request.body, str) else request.body
    assert body is None or isinstance(body, bytes), body
    return await client.request(request.method, request.url, headers=headers, content=body)


SHOP = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password"}
"""The test shop's credentials, in the query string, where they win over the body's (the
first of repeated parameters does): requests get past authentication (the payment request
ignores the login and password)."""


@pytest.fixture
async def operations(
    client: httpx.AsyncClient, gateway: Gateway
) -> list[tuple[str, st.SearchStrategy[Case[Any]]]]:
    """Each operation's cases, valid or not, from anyone or from the test shop; a paid order
    exists."""
    await paid_order(gateway, delay=True)
    schema = schemathesis.openapi.from_dict(await described(client))
    found = []
    for operation in operations_of(schema):
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.POSITIVE, query=SHOP),
            operation.as_strategy(GenerationMode.NEGATIVE, query=SHOP),
        )
        found.append((operation.label, cases))
    return found


SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
"""Schemathesis' runs: as many examples each time, in the same order."""


@SETTINGS
@given(data=st.data())
async def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    data: st.DataObject,
    client: httpx.AsyncClient,
    operations: list[tuple[str, st.SearchStrategy[Case[Any]]]],
) -> None:
    for label, cases in operations:
        case = data.draw(cases, label=label)
        response = await send(client, case)
        case.validate_response(response, checks=CHECKS)
