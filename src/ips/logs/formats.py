"""The lines of the logs: JSON (one object a line) or text, each with what is known of the
work the record is about (``context``), and card numbers masked as a last resort.

A JSON line:

    {"time": "2025-05-01T12:00:00.123Z", "level": "INFO", "logger": "ips.access",
     "message": "POST /pay/1234567890123452/card 303 85ms", "process": "ips serve",
     "host": "node-1", "pid": 4242, "request_id": "9f0c…", "merchant_id": "111111",
     "billnumber": "1234567890123452", "operation": "1234567890123452.1", "stan": "17",
     "acquirer": "default"}

with ``exception`` (the traceback) when there is one; what is not known is left out.

The code never logs a card number, a CVC, a password or a secret word: values that carry
them are typed so that they print masked (``domain/cards.Pan``, ``Secret``) and messages to
the processing center are logged masked (``paywire.messages.masked``). ``mask_card_numbers``
is the net under that: a run of 13 to 19 digits (alone, or grouped by single spaces or
dashes) that passes the Luhn check becomes ``411111****1111`` — but the billnumber the line
is about, which may pass it too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from datetime import UTC, datetime

from ips.logs.context import FIELDS, NOTHING, Known, known
from paywire.luhn import luhn_valid
from paywire.messages import mask_pan

CONTEXT = "ips_context"
"""The attribute of a record that holds what was known when it was made (``Context``)."""

_DIGITS = re.compile(r"[0-9](?:[ -]?[0-9]){12,}")
"""Thirteen digits or more, maybe grouped (a billnumber among them: one group, which fails
the Luhn check at once)."""
_SEPARATOR = re.compile(r"[ -]")


class Context(logging.Filter):
    """Puts on each record what was known of the work when it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, CONTEXT, known())
        return True


def context_of(record: logging.LogRecord) -> Known:
    found: Known = getattr(record, CONTEXT, NOTHING)
    return found


def mask_card_numbers(text: str, keep: Collection[str] = ()) -> str:
    """``text`` with every run of 13 to 19 digits that passes the Luhn check masked (first
    six and last four), but those in ``keep``. Digits grouped by single spaces or dashes are
    taken together (``4111 1111 1111 1111``)."""
    return _DIGITS.sub(lambda run: _masked_run(run.group(), keep), text)


def _masked_run(run: str, keep: Collection[str]) -> str:
    """A run of digit groups with each span of whole groups that is a card number masked:
    the longest such span from each group on."""
    if run.isdigit():  # one group, as a billnumber is
        is_card = len(run) <= 19 and run not in keep and luhn_valid(run)
        return mask_pan(run) if is_card else run
    groups = _SEPARATOR.split(run)
    separators = _SEPARATOR.findall(run)
    parts: list[str] = []
    start = 0
    while start < len(groups):
        end = _card_end(groups, start, keep)
        if end is None:
            parts.append(groups[start])
            if start < len(separators):
                parts.append(separators[start])
            start += 1
            continue
        parts.append(mask_pan("".join(groups[start:end])))
        if end - 1 < len(separators):
            parts.append(separators[end - 1])
        start = end
    return "".join(parts)


def _card_end(groups: list[str], start: int, keep: Collection[str]) -> int | None:
    """The end of the longest span of groups from ``start`` whose digits are a card number."""
    found, digits = None, ""
    for end in range(start + 1, len(groups) + 1):
        digits += groups[end - 1]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and luhn_valid(digits) and digits not in keep:
            found = end
    return found


def _kept(context: Known) -> tuple[str, ...]:
    billnumber = context.get("billnumber")
    return (billnumber,) if billnumber else ()


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line (``module docstring``)."""

    def __init__(self, process: str = "", host: str = "", pid: int | None = None) -> None:
        super().__init__()
        self._origin: dict[str, str | int] = {
            name: value
            for name, value in (("process", process), ("host", host), ("pid", pid))
            if value
        }

    def format(self, record: logging.LogRecord) -> str:
        context = context_of(record)
        line: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_card_numbers(record.getMessage(), _kept(context)),
            **self._origin,
        }
        line.update((name, context[name]) for name in FIELDS if name in context)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = mask_card_numbers(record.exc_text, _kept(context))
        if record.stack_info:
            stack = self.formatStack(record.stack_info)
            line["stack"] = mask_card_numbers(stack, _kept(context))
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """The lines as IPS wrote them before JSON, with what is known of the work after the
    message: ``… ips.access: POST /pay/…/card 303 85ms [request_id=… billnumber=…]``."""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = context_of(record)
        if context:
            said = " ".join(f"{name}={context[name]}" for name in FIELDS if name in context)
            first, newline, rest = text.partition("\n")
            text = f"{first} [{said}]{newline}{rest}"
        return mask_card_numbers(text, _kept(context))
