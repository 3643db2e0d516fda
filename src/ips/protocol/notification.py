"""The shop's answer to a payment notification (the fields are ``fields.notification_fields``).

The answer is read leniently: shops put text before the root element, quote attributes either
way, and send dates and billnumbers in their own shapes; only the ``firstcode`` of the
``pushpaymentresult`` element counts.
"""

from __future__ import annotations

import re

from ips.domain.notifications import AnswerMode, Outcome

_PUSH = re.compile(r"<\s*pushpaymentresult\b([^>]*)>", re.IGNORECASE)
_FIRSTCODE = re.compile(r"""firstcode\s*=\s*["']?\s*(-?[0-9]+)""", re.IGNORECASE)


def read_answer(mode: AnswerMode, status: int, body: str) -> Outcome:
    if not 200 <= status < 300:
        return Outcome.NO_ANSWER
    if mode is AnswerMode.PLAIN:
        return Outcome.DELIVERED
    element = _PUSH.search(body)
    firstcode = _FIRSTCODE.search(element.group(1)) if element else None
    if firstcode is None:
        return Outcome.NO_ANSWER
    return Outcome.DELIVERED if int(firstcode.group(1)) == 0 else Outcome.REFUSED
