"""``/api/v1/openapi.json`` and schemathesis against it, in-process: every operation with
valid and invalid requests, with the merchant's key and without; and the links of a made
order followed (create → get → capture → cancel) with the billnumber the answer gave. Each
answer is checked: no server error, a declared status and content type, a body of the
declared shape."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import BaseSchema, Case, GenerationMode

from ips.domain.api_keys import Scope
from ips.services.api_keys import create_api_key
from ips.services.gateway import Gateway
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import ManualClock
from tests.integration.test_openapi import CHECKS, SETTINGS, operations_of, send
from tests.integration.test_payment_service import card

API = "http://ips.test/api/v1"
FOLLOWED = ("GetOrder", "CaptureOrder", "CancelOrder")


async def described(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
async def key(database: Database, clock: ManualClock, merchant: object) -> dict[str, str]:
    _, token = await create_api_key(
        "111111", "schemathesis", Scope.WRITE, database, clock, actor=SETUP
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> BaseSchema:
    found = schemathesis.openapi.from_dict(await described(client))
    found.validate()
    return found


async def test_the_description_is_openapi_3_1_with_every_route_and_its_links(
    client: httpx.AsyncClient, schema: BaseSchema
) -> None:
    document = await described(client)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api/v1"}]
    assert {op.label for op in operations_of(schema)} == {
        "POST /orders",
        "GET /orders",
        "GET /orders/{billnumber}",
        "POST /orders/{billnumber}/captures",
        "POST /orders/{billnumber}/cancels",
        "POST /orders/{billnumber}/recurring",
        "POST /webhook_endpoints",
        "GET /webhook_endpoints",
        "DELETE /webhook_endpoints/{endpoint_id}",
    }
    links = document["paths"]["/orders"]["post"]["responses"]["201"]["links"]
    assert set(links) == set(FOLLOWED)


async def test_the_document_in_docs_is_the_one_served(client: httpx.AsyncClient) -> None:
    """docs/json-api.openapi.json is made with ``python -m ips.web.api``: made again when
    the API changes."""
    rendered = json.loads((Path(__file__).parents[2] / "docs/json-api.openapi.json").read_text())
    assert rendered == await described(client)


@SETTINGS
@given(data=st.data())
async def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    data: st.DataObject, client: httpx.AsyncClient, schema: BaseSchema, key: dict[str, str]
) -> None:
    for operation in operations_of(schema):
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, headers=key),
            operation.as_strategy(GenerationMode.NEGATIVE, headers=key),
            operation.as_strategy(GenerationMode.POSITIVE),
        )
        case = data.draw(cases, label=operation.label)
        response = await send(client, case, API)
        case.validate_response(response, checks=CHECKS)


@SETTINGS
@given(data=st.data())
async def test_the_links_of_a_made_order_lead_to_answers_as_declared(
    data: st.DataObject,
    client: httpx.AsyncClient,
    schema: BaseSchema,
    key: dict[str, str],
    gateway: Gateway,
) -> None:
    by_id = {op.definition.raw["operationId"]: op for op in operations_of(schema)}
    create = by_id["createOrder"]
    links = create.definition.raw["responses"]["201"]["links"]
    made = data.draw(create.as_strategy(GenerationMode.POSITIVE, headers=key).map(_payable))
    created = await send(client, made, API)
    made.validate_response(created, checks=CHECKS)
    assert created.status_code == 201, created.text
    billnumber = created.json()["billnumber"]
    if data.draw(st.booleans(), label="paid"):
        await pay_by_card(PayByCard(billnumber, card()), gateway)
    for name in FOLLOWED:
        operation = by_id[links[name]["operationId"]]
        case = data.draw(
            operation.as_strategy(
                GenerationMode.POSITIVE, headers=key, path_parameters={"billnumber": billnumber}
            ),
            label=name,
        )
        response = await send(client, case, API)
        case.validate_response(response, checks=CHECKS)
        assert response.status_code != 404, response.text


def _payable(case: Case[Any]) -> Case[Any]:
    """A made order the test shop can take: in roubles, by card, returning nowhere, under a
    number of its own (the examples share one database)."""
    assert isinstance(case.body, dict)
    body = {k: v for k, v in case.body.items() if k not in {"return_url_ok", "return_url_no"}}
    body |= {"currency": "RUB", "payment_methods": ["card"], "language": "en"}
    body["order_number"] = uuid.uuid4().hex
    case.body = body
    return case
