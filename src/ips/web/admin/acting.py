"""Who does what a console form asks, for the audit trail: the signed-in operator, from the
browser's address."""

from __future__ import annotations

from starlette.requests import Request

from ips.domain.audit import Actor, ActorKind
from ips.services.operators import SignedOperator
from ips.web.params import client_ip


def actor(request: Request, signed: SignedOperator) -> Actor:
    return Actor(ActorKind.OPERATOR, signed.login, client_ip(request))
