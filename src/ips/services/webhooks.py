"""Webhooks: a merchant's endpoints (``ips webhook``), and the delivery of the events the unit
of work writes with each change (``domain/webhooks.py``).

``deliver_due`` claims what is due (``claimed_by``/``claimed_until``, a lease as in
``services/claims.py``: no other worker sends a delivery while it is claimed), commits, posts
each with no database transaction open — to the endpoint's URL checked at the time of sending,
as notifications are (``callbacks.py``) — and records each attempt in a commit of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from ips.domain.audit import CHANGED, Actor, Subject
from ips.domain.errors import InvalidInput, NotFound
from ips.domain.merchants import parse_callback_url
from ips.domain.notifications import ALLOWED_PORTS, Outcome
from ips.domain.webhooks import (
    ANSWER_LIMIT,
    MAX_ENDPOINTS,
    Attempt,
    Due,
    Endpoint,
    Event,
    WebhookDelivery,
    new_id,
    new_secret,
    parse_event_types,
)
from ips.faults import fault
from ips.logs.context import about
from ips.services import audit
from ips.services.claims import LEASE, claimant
from ips.services.clock import Clock, utc_now
from ips.services.merchants import SignedIn
from ips.services.notifications import Delivery, NotDelivered
from ips.services.unit_of_work import UnitOfWorkFactory, WebhookRepository

log = logging.getLogger(__name__)


def parse_url(text: str, ports: frozenset[int]) -> str:
    try:
        return parse_callback_url(text, ports)
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("callback URL", "URL"), field="url") from None


async def add_endpoint(
    merchant_id: str,
    url: str,
    events: str,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    ports: frozenset[int] = ALLOWED_PORTS,
    *,
    actor: Actor | None = None,
) -> tuple[Endpoint, str]:
    """A new endpoint of the merchant, and its secret — the one time it is shown. ``actor``:
    the person who adds it, for the audit trail (a JSON API call has none)."""
    endpoint = Endpoint(
        new_id("we"), merchant_id, parse_url(url, ports), parse_event_types(events), new_secret(),
        clock(),
    )  # fmt: skip
    async with uow_factory() as uow:
        if await uow.merchants.get(merchant_id, lock=True) is None:
            raise NotFound(f"no merchant {merchant_id}", field="merchant_id")
        if len(await uow.webhooks.endpoints_of(merchant_id)) >= MAX_ENDPOINTS:
            raise InvalidInput(f"a merchant has at most {MAX_ENDPOINTS} endpoints", field="url")
        await uow.webhooks.add_endpoint(endpoint)
        if actor is not None:
            await audit.note(
                uow, actor, "webhook.add", _subject(endpoint), endpoint.created_at,
                after={"url": endpoint.url, "events": list(endpoint.event_types),
                       "secret": CHANGED},
            )  # fmt: skip
        await uow.commit()
    return endpoint, endpoint.secret


async def endpoints_of(merchant_id: str, uow_factory: UnitOfWorkFactory) -> list[Endpoint]:
    async with uow_factory(readonly=True) as uow:
        return await uow.webhooks.endpoints_of(merchant_id)


async def roll_secret(
    merchant_id: str, endpoint_id: str, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now,
    *, actor: Actor,
) -> str:  # fmt: skip
    """A new secret of the endpoint; the last one signs beside it for a day."""
    async with uow_factory() as uow:
        endpoint = await _endpoint(uow.webhooks, merchant_id, endpoint_id)
        now = clock()
        secret = endpoint.roll(now)
        await uow.webhooks.save_secrets(endpoint)
        await audit.note(
            uow, actor, "webhook.roll", _subject(endpoint), now, after={"secret": CHANGED}
        )
        await uow.commit()
    return secret


async def remove_endpoint(
    merchant_id: str, endpoint_id: str, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now,
    *, actor: Actor | None = None,
) -> None:  # fmt: skip
    """``actor``: the person who removes it, for the audit trail (a JSON API call has none)."""
    async with uow_factory() as uow:
        endpoint = await _endpoint(uow.webhooks, merchant_id, endpoint_id)
        now = clock()
        await uow.webhooks.remove_endpoint(endpoint, now)
        if actor is not None:
            await audit.note(
                uow, actor, "webhook.remove", _subject(endpoint), now,
                before={"url": endpoint.url, "events": list(endpoint.event_types)},
            )  # fmt: skip
        await uow.commit()


def _subject(endpoint: Endpoint) -> Subject:
    return Subject("webhook_endpoint", endpoint.endpoint_id, merchant_id=endpoint.merchant_id)


async def _endpoint(webhooks: WebhookRepository, merchant_id: str, endpoint_id: str) -> Endpoint:
    found = await webhooks.endpoint(merchant_id, endpoint_id)
    if found is None:
        raise NotFound(f"no endpoint {endpoint_id} of merchant {merchant_id}", field="endpoint")
    return found


async def deliveries_of(
    merchant_id: str,
    uow_factory: UnitOfWorkFactory,
    billnumber: str = "",
    limit: int = 100,
) -> list[WebhookDelivery]:
    """The merchant's latest deliveries (of one order of its own), newest first."""
    async with uow_factory(readonly=True) as uow:
        order_id = None
        if billnumber:
            order = await uow.orders.get(billnumber)
            if order is None or order.merchant_id != merchant_id:
                raise NotFound("no such order", field="billnumber")
            order_id = order.id
        return await uow.webhooks.deliveries_of(merchant_id, limit, order_id)


async def send_again(
    caller: SignedIn, delivery_id: int, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now,
    *, actor: Actor,
) -> None:  # fmt: skip
    """Sends the merchant's delivery once more, at the workers' next look; ``actor``: the
    shop's user who asked, for the audit trail."""
    await _send_again(delivery_id, caller.merchant_id, actor, uow_factory, clock)


async def send_again_as_operator(
    delivery_id: int, actor: Actor, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now
) -> None:
    """An operator's "send again", of a delivery of any merchant, with its audit entry."""
    await _send_again(delivery_id, None, actor, uow_factory, clock)


async def _send_again(
    delivery_id: int, merchant_id: str | None, actor: Actor, uow_factory: UnitOfWorkFactory,
    clock: Clock,
) -> None:  # fmt: skip
    """The delivery (of ``merchant_id`` only, when given) due again now, with its audit
    entry; ``NotFound`` when it is another merchant's, or is being sent."""
    async with uow_factory() as uow:
        delivery = await uow.webhooks.delivery(delivery_id)
        now = clock()
        if (
            delivery is None
            or merchant_id not in (None, delivery.merchant_id)
            or not await uow.webhooks.send_again(delivery.merchant_id, delivery_id, now)
        ):
            raise NotFound("no such delivery, or it is being sent", field="delivery")
        subject = Subject(
            "webhook_delivery", str(delivery_id), delivery.merchant_id, delivery.billnumber
        )
        await audit.note(
            uow, actor, "webhook.send_again", subject, now,
            before={"status": delivery.status.value}, after={"status": "pending"},
        )  # fmt: skip
        await uow.commit()


async def deliver_due(delivery: Delivery) -> int:
    """Sends the deliveries that are due, at once; returns how many were tried."""
    me = claimant()
    async with delivery.uow_factory() as uow:
        due = await uow.webhooks.claim_due(delivery.clock(), LEASE, delivery.batch, me)
        if due:
            fault("webhook.claim.committing")
        await uow.commit()
    if due:
        fault("webhook.claim.committed")
    await asyncio.gather(*(_deliver(d, delivery, me) for d in due))
    return len(due)


async def _deliver(due: Due, delivery: Delivery, me: str) -> None:
    _about(due.event)
    attempt = await _attempt(due, delivery)
    fault("webhook.sent")
    async with delivery.uow_factory() as uow:
        await uow.webhooks.record(due.delivery, attempt, me)
        fault("webhook.record.committing")
        await uow.commit()
    fault("webhook.record.committed")
    if delivery.metrics is not None:
        outcome = Outcome.NO_ANSWER if attempt.http_status is None else Outcome.REFUSED
        outcome = Outcome.DELIVERED if attempt.delivered else outcome
        delivery.metrics.delivery_tried("webhooks", outcome.value)
    said = (
        "webhook %s of event %s (%s) to %s: %s",
        due.delivery.id, due.event.event_id, due.event.type, due.endpoint.endpoint_id,
        attempt.error or attempt.http_status,
    )  # fmt: skip
    if attempt.delivered:
        log.info(*said)
    else:
        log.warning(*said)


def _about(event: Event) -> None:
    """The merchant, order and operation of the event, as its body names them."""
    data = json.loads(event.body).get("data") or {}
    billnumber = str(data.get("billnumber") or "")
    number = (data.get("operation") or {}).get("number")
    about(
        merchant_id=event.merchant_id,
        billnumber=billnumber,
        operation=f"{billnumber}.{number}" if billnumber and number else None,
    )


async def _attempt(due: Due, delivery: Delivery) -> Attempt:
    now = delivery.clock()
    timestamp = int(now.timestamp())
    event = due.event
    headers = {
        "webhook-id": event.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": due.endpoint.signature_header(
            event.event_id, timestamp, event.body, now
        ),
    }
    started = time.monotonic()
    try:
        url = parse_url(due.endpoint.url, delivery.ports)
        reply = await delivery.sender.post_json(url, event.body, headers)
    except InvalidInput as exc:
        return Attempt(now, None, _ms(started), error=exc.message)
    except NotDelivered as exc:
        return Attempt(now, None, _ms(started), error=str(exc))
    return Attempt(now, reply.status, _ms(started), answer=reply.body[:ANSWER_LIMIT])


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
