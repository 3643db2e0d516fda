"""What the log lines of the work under way are about.

One context variable holds it all, an immutable mapping of ``FIELDS``: the request (its id),
the background job, the merchant, the order (billnumber), the operation (``billnumber.n``),
the message to the processing center (STAN) and its acquirer. The code that learns one says
so with ``about``; it holds in the task at hand and in what it awaits (a task it starts takes
a copy). ``scope`` brackets a piece of work — a request, one item of a worker's run — so that
what it learned is forgotten when it ends. ``detached`` is the context of a task that outlives
the work that started it (a connection opened by a payment serves the payments after it).

Setting it costs a dictionary of a few entries; nothing is read from the database for it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from ips.domain.orders import Operation, Order

FIELDS = ("request_id", "job", "merchant_id", "billnumber", "operation", "stan", "acquirer")

Known = Mapping[str, str]
NOTHING: Known = MappingProxyType({})

_known: contextvars.ContextVar[Known] = contextvars.ContextVar("ips_logs", default=NOTHING)


def known() -> Known:
    """What the current work's log lines carry."""
    return _known.get()


FOLLOWING = {"billnumber": ("operation", "stan", "acquirer"), "operation": ("stan",)}
"""What is known no more when the work turns to another order, or another operation."""


def about(
    *,
    request_id: str | None = None,
    job: str | None = None,
    merchant_id: str | None = None,
    billnumber: str | None = None,
    operation: str | None = None,
    stan: int | str | None = None,
    acquirer: str | None = None,
) -> None:
    """Adds what became known to the current work's log lines; ``None`` and empty values
    change nothing. Another order forgets the operation, STAN and acquirer of the one before;
    another operation its STAN."""
    given = {
        name: str(value)
        for name, value in (
            ("request_id", request_id),
            ("job", job),
            ("merchant_id", merchant_id),
            ("billnumber", billnumber),
            ("operation", operation),
            ("stan", stan),
            ("acquirer", acquirer),
        )
        if value is not None and value != ""
    }
    if not given:
        return
    now = _known.get()
    turned = [
        name for name in FOLLOWING if name in given and now.get(name, given[name]) != given[name]
    ]
    stale = {name for turn in turned for name in FOLLOWING[turn] if name not in given}
    kept = {name: value for name, value in now.items() if name not in stale} if stale else now
    _known.set({**kept, **given})


def about_order(order: Order, operation: Operation | None = None) -> None:
    """The order's merchant and billnumber; the operation's name and acquirer when given."""
    about(
        merchant_id=order.merchant_id,
        billnumber=order.billnumber,
        operation=f"{order.billnumber}.{operation.number}" if operation is not None else None,
        acquirer=operation.acquirer if operation is not None else None,
    )


@contextlib.contextmanager
def scope(
    *,
    request_id: str | None = None,
    job: str | None = None,
    merchant_id: str | None = None,
    billnumber: str | None = None,
    afresh: bool = False,
) -> Iterator[None]:
    """A piece of work: it starts with what is known around it (``afresh``: with nothing, as
    a request does) and the values given, and what it learns is forgotten when it ends."""
    token = _known.set(NOTHING if afresh else _known.get())
    try:
        about(request_id=request_id, job=job, merchant_id=merchant_id, billnumber=billnumber)
        yield
    finally:
        _known.reset(token)


def detached() -> contextvars.Context:
    """A copy of the current context that knows nothing of the work under way: for a task
    that outlives it (``asyncio.create_task(…, context=detached())``)."""
    context = contextvars.copy_context()
    context.run(_known.set, NOTHING)
    return context
