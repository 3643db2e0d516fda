"""The operator's acquirers: added, changed, listed (``ips acquirer``).

The nodes read them as they start and again every ``REFRESH`` seconds (``bootstrap``): a new
acquirer is connected, a changed one's rules hold from then on. A new processing center
address, terminal or acquirer id takes effect when the nodes restart.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from datetime import time
from typing import Any
from urllib.parse import urlsplit

from ips.domain.acquirers import (
    DEFAULT_ACQUIRER,
    Acquirer,
    Rules,
    parse_acquirer_name,
    processing_address,
)
from ips.domain.audit import Actor, Subject
from ips.domain.errors import InvalidInput, NotFound, Refused
from ips.domain.money import currency
from ips.domain.terminals import valid_terminal_id
from ips.domain.text import is_digits
from ips.services.audit import note
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory

REFRESH = 10.0
"""Seconds between a node's readings of the acquirers."""


@dataclass(frozen=True)
class AcquirerSettings:
    """What ``ips acquirer add`` and ``set`` take; for ``set``, each ``None`` stays."""

    processing: str | None = None
    processing_http: str | None = None
    terminal_id: str | None = None
    terminal_pool: tuple[str, ...] | None = None
    acquirer_id: str | None = None
    currencies: str | None = None
    double_stage: bool | None = None
    stored_card_double_stage: bool | None = None
    card_on_file: bool | None = None
    require_3ds: bool | None = None
    settlement_cutoff: str | None = None
    disabled: bool | None = None


async def add_acquirer(
    name: str,
    settings: AcquirerSettings,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    *,
    taken_terminals: frozenset[str] = frozenset(),
    actor: Actor,
) -> Acquirer:
    """Adds an acquirer; without a terminal id it gets one of a form of its own (IPSA0001,
    IPSB0001…), so no two acquirers' pools ever meet. ``taken_terminals``: the default
    acquirer's (the settings')."""
    name = parse_acquirer_name(name)
    if name.casefold() == DEFAULT_ACQUIRER:
        raise Refused(f"{DEFAULT_ACQUIRER!r} is the acquirer of the settings", field="acquirer")
    async with uow_factory() as uow:
        others = await uow.acquirers.all()
        if any(a.name.casefold() == name.casefold() for a in others):
            raise Refused(f"acquirer {name} exists", field="acquirer")
        terminal = settings.terminal_id or _own_terminal_id(len(others))
        acquirer = _changed(Acquirer(name, terminal_id=terminal), settings)
        if not acquirer.processing:
            raise InvalidInput(
                "an acquirer needs its processing center (HOST:PORT)", field="processing"
            )
        _check_terminals(acquirer, others, taken_terminals)
        now = clock()
        await uow.acquirers.add(acquirer, now)
        await note(uow, actor, "acquirer.add", _subject(acquirer), now, after=_values(acquirer))
        await uow.commit()
    return acquirer


async def change_acquirer(
    name: str,
    settings: AcquirerSettings,
    uow_factory: UnitOfWorkFactory,
    clock: Clock = utc_now,
    *,
    taken_terminals: frozenset[str] = frozenset(),
    actor: Actor,
) -> Acquirer:
    """Changes the settings given; the audit trail names a change of ``disabled`` alone
    ``acquirer.disable`` or ``acquirer.enable``, any other ``acquirer.change``."""
    if name == DEFAULT_ACQUIRER:
        raise Refused(
            "the default acquirer is set by the IPS_PROCESSING* settings", field="acquirer"
        )
    async with uow_factory() as uow:
        acquirer = await uow.acquirers.get(name, lock=True)
        if acquirer is None:
            raise NotFound(f"no acquirer {name}", field="acquirer")
        before = _values(acquirer)
        acquirer = _changed(acquirer, settings)
        others = [a for a in await uow.acquirers.all() if a.name != name]
        _check_terminals(acquirer, others, taken_terminals)
        await uow.acquirers.save(acquirer)
        action = "acquirer.change"
        if settings in (AcquirerSettings(disabled=True), AcquirerSettings(disabled=False)):
            action = "acquirer.disable" if settings.disabled else "acquirer.enable"
        await note(
            uow, actor, action, _subject(acquirer), clock(), before=before, after=_values(acquirer)
        )
        await uow.commit()
    return acquirer


def _subject(acquirer: Acquirer) -> Subject:
    return Subject("acquirer", acquirer.name)


def _values(acquirer: Acquirer) -> dict[str, Any]:
    """What the audit trail keeps of an acquirer's settings."""
    rules = acquirer.rules
    return {
        "processing": acquirer.processing,
        "processing_http": acquirer.processing_http,
        "terminal_ids": list(acquirer.terminal_ids),
        "acquirer_id": acquirer.acquirer_id,
        "currencies": [c.code for c in rules.currencies],
        "double_stage": rules.double_stage,
        "stored_card_double_stage": rules.stored_card_double_stage,
        "card_on_file": rules.card_on_file,
        "require_3ds": rules.require_3ds,
        "settlement_cutoff": f"{acquirer.settlement_cutoff:%H:%M}",
        "disabled": acquirer.disabled,
    }


async def list_acquirers(uow_factory: UnitOfWorkFactory) -> list[Acquirer]:
    async with uow_factory(readonly=True) as uow:
        return await uow.acquirers.all()


async def get_acquirer(name: str, uow_factory: UnitOfWorkFactory) -> Acquirer:
    async with uow_factory(readonly=True) as uow:
        acquirer = await uow.acquirers.get(name)
    if acquirer is None:
        raise NotFound(f"no acquirer {name}", field="acquirer")
    return acquirer


def _own_terminal_id(added_before: int) -> str:
    letters = string.ascii_uppercase
    if added_before >= len(letters):
        raise InvalidInput("give the acquirer its terminal id (--terminal-id)", field="terminal_id")
    return f"IPS{letters[added_before]}0001"


def _changed(acquirer: Acquirer, settings: AcquirerSettings) -> Acquirer:
    """``acquirer`` with the settings given, each checked."""
    given = {k: v for k, v in vars(settings).items() if v is not None}
    if "processing" in given:
        host, port = processing_address(given["processing"])
        given["processing"] = f"{host}:{port}"
    if given.get("processing_http"):
        parts = urlsplit(given["processing_http"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("--processing-http is an http(s) URL", field="processing_http")
    for terminal in (given.get("terminal_id", ""), *given.get("terminal_pool", ())):
        if terminal and not valid_terminal_id(terminal):
            raise InvalidInput(
                "a terminal id is 1 to 8 printable ASCII characters", field="terminal_id"
            )
    if "acquirer_id" in given and not (
        is_digits(given["acquirer_id"]) and len(given["acquirer_id"]) <= 11
    ):
        raise InvalidInput("an acquirer id is 1 to 11 digits", field="acquirer_id")
    if "settlement_cutoff" in given:
        try:
            given["settlement_cutoff"] = time.fromisoformat(given["settlement_cutoff"])
        except ValueError:
            raise InvalidInput(
                "the cut-off is a time (UTC) like 23:00", field="settlement_cutoff"
            ) from None
    rule_names = {f.name for f in dataclasses.fields(Rules)}
    rules = {k: given.pop(k) for k in list(given) if k in rule_names}
    if "currencies" in rules:
        codes = [code.strip() for code in rules["currencies"].split(",") if code.strip()]
        rules["currencies"] = tuple(currency(code) for code in codes)
    return dataclasses.replace(
        acquirer, rules=dataclasses.replace(acquirer.rules, **rules), **given
    )


def _check_terminals(acquirer: Acquirer, others: list[Acquirer], taken: frozenset[str]) -> None:
    """Terminal ids are the acquirer's own: the leases and STAN counts of IPS are kept by
    terminal id."""
    theirs = set(taken).union(*(a.terminal_ids for a in others))
    clash = sorted(theirs.intersection(acquirer.terminal_ids))
    if clash:
        raise Refused(
            f"terminal {clash[0]} is another acquirer's: give this one ids of its own",
            field="terminal_id",
        )
