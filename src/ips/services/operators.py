"""The operator console's staff: adding them, their second factor, signing in and out.

Signing in is guarded as the Personal Account's is (``accounts.py``, ``login_guards.py``):
each attempt is counted as failed before its password is checked, per login (``admin:…``) and
source, an unknown login costs a password check all the same, and a locked source is refused
before any check. An administrator's one-time code (``domain/totp.py``) is checked after its
password, and a missing or wrong one is a failed attempt like a wrong password; the step the
code is of is recorded in the statement that signs in, so a code signs in once.

What an answer says is as much as its asker has shown it may know: anyone hears "wrong login
or password", whether the login exists or not; only who typed the right password hears that
the one-time code is wrong; only who also typed the right code (or needs none) hears that the
operator is disabled. A disabled operator's attempt stays counted as failed.

Every change of the staff is written to the audit trail by whom it names (``actor``: the
command, or an administrator in the console), in the transaction of the change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ips.crypto.passwords import hash_password
from ips.domain import totp
from ips.domain.audit import CHANGED, Actor, ActorKind, Subject
from ips.domain.errors import AuthenticationFailed, InvalidInput, NotFound, Refused
from ips.domain.logins import Subjects
from ips.domain.operators import Operator, OperatorSession
from ips.domain.users import LONGEST, Role, check_password, parse_login
from ips.domain.users import token_hash as hash_of
from ips.services.accounts import TOUCH_EVERY
from ips.services.audit import note
from ips.services.clock import Clock
from ips.services.login_guards import count_attempt, failure, note_success, password_right
from ips.services.unit_of_work import UnitOfWorkFactory

LOCKED = "too many failed sign-ins: the login is locked for a while"
WRONG = "wrong login or password"
CODE_NEEDED = "type the one-time code your authenticator app shows"
CODE_WRONG = "the one-time code is wrong or was used already: type the next one"
DISABLED = "this operator is disabled: ask an administrator"


@dataclass(frozen=True)
class SignedOperator:
    """A signed-in operator and the session the request came with."""

    operator: Operator
    session: OperatorSession

    @property
    def login(self) -> str:
        return self.operator.login

    @property
    def role(self) -> Role:
        return self.operator.role

    def actor(self, source: str) -> Actor:
        """The operator as the audit trail names it, from the browser's address."""
        return Actor(ActorKind.OPERATOR, self.operator.login, source)


@dataclass(frozen=True)
class Enrolment:
    """An administrator's TOTP secret, to give its authenticator app once: the address (a QR
    code of it, or pasted) or the secret typed by hand."""

    secret: str
    uri: str

    @classmethod
    def of(cls, operator: Operator) -> Enrolment:
        assert operator.totp_secret is not None
        return cls(operator.totp_secret, totp.uri(operator.totp_secret, operator.login))


async def add_operator(
    login: str, password: str, role: Role, uow_factory: UnitOfWorkFactory, clock: Clock, *,
    actor: Actor,
) -> tuple[Operator, Enrolment | None]:  # fmt: skip
    """The new operator and, for an administrator, its TOTP secret — the one time it is
    shown."""
    login = parse_login(login)
    password_hash = await asyncio.to_thread(hash_password, check_password(password, login))
    operator = Operator(login, password_hash, role, clock())
    if operator.needs_second_factor:
        operator.totp_secret = totp.new_secret()
    async with uow_factory() as uow:
        if not await uow.operators.add(operator):
            raise InvalidInput("this login is taken", field="login")
        after = {"role": role.value, "password": CHANGED}
        if operator.totp_secret:
            after["totp_secret"] = CHANGED
        await note(uow, actor, "operator.add", _subject(operator), clock(), after=after)
        await uow.commit()
    return operator, Enrolment.of(operator) if operator.totp_secret else None


async def list_operators(uow_factory: UnitOfWorkFactory) -> list[Operator]:
    async with uow_factory(readonly=True) as uow:
        return await uow.operators.all()


async def disable_operator(
    login: str, uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: Actor
) -> Operator:
    """Disables the operator and ends its sessions (disabled already, it stays so)."""
    async with uow_factory() as uow:
        operator = _known(await uow.operators.by_login(login))
        before = _state(operator)
        operator.disabled_at = operator.disabled_at or clock()
        await uow.operators.save(operator)
        await uow.operator_sessions.end_all_of(operator.id or 0)
        await note(
            uow, actor, "operator.disable", _subject(operator), clock(), before, _state(operator)
        )
        await uow.commit()
    return operator


async def enable_operator(
    login: str, uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: Actor
) -> Operator:
    async with uow_factory() as uow:
        operator = _known(await uow.operators.by_login(login))
        before = _state(operator)
        operator.disabled_at = None
        await uow.operators.save(operator)
        await note(
            uow, actor, "operator.enable", _subject(operator), clock(), before, _state(operator)
        )
        await uow.commit()
    return operator


async def reset_totp(
    login: str, uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: Actor
) -> Enrolment:
    """A new TOTP secret for an administrator (its phone was lost, or its secret seen); the
    old one signs in no more, and the administrator's sessions end."""
    async with uow_factory() as uow:
        operator = _known(await uow.operators.by_login(login))
        if not operator.needs_second_factor:
            raise Refused(
                f"operator {operator.login} is {operator.role.value}: only an administrator "
                "signs in with a one-time code",
                field="login",
            )
        operator.totp_secret = totp.new_secret()
        await uow.operators.save(operator)
        await uow.operator_sessions.end_all_of(operator.id or 0)
        await note(
            uow, actor, "operator.reset_totp", _subject(operator), clock(),
            after={"totp_secret": CHANGED},
        )  # fmt: skip
        await uow.commit()
    return Enrolment.of(operator)


def _subject(operator: Operator) -> Subject:
    return Subject("operator", operator.login)


def _state(operator: Operator) -> dict[str, str]:
    return {"state": "disabled" if operator.disabled else "active"}


def _known(operator: Operator | None) -> Operator:
    if operator is None:
        raise NotFound("no operator with this login", field="login")
    return operator


async def sign_in(
    login: str, password: str, code: str, uow_factory: UnitOfWorkFactory, clock: Clock, *,
    source: str = "",
) -> tuple[SignedOperator, str]:  # fmt: skip
    """The signed-in operator and the session token for the browser's cookie; ``code`` is
    the one-time code (an administrator's; ignored for others), ``source`` the browser's
    address."""
    try:
        login = parse_login(login)
    except InvalidInput:
        await password_right(None, password)
        raise AuthenticationFailed(WRONG, field="login") from None
    subjects = Subjects.of(f"admin:{login.lower()}", source)
    counted, _ = await count_attempt(subjects, uow_factory, clock, LOCKED)
    async with uow_factory(readonly=True) as uow:
        operator = await uow.operators.by_login(login)
    if operator is None or not await password_right(operator.password_hash, password):
        raise failure(counted, clock, LOCKED, WRONG, field="login")
    step = None
    if operator.needs_second_factor:
        assert operator.totp_secret is not None
        if not code.strip():
            raise failure(counted, clock, LOCKED, CODE_NEEDED, field="code")
        step = totp.matching_step(operator.totp_secret, code, clock(), operator.last_totp_step)
        if step is None:
            raise failure(counted, clock, LOCKED, CODE_WRONG, field="code")
    if operator.disabled:
        raise Refused(DISABLED, field="login")
    assert operator.id is not None
    async with uow_factory() as uow:
        await note_success(uow, subjects, clock, counted=True)
        if step is not None and not await uow.operators.use_step(operator.id, step):
            raise failure(counted, clock, LOCKED, CODE_WRONG, field="code")
        session, token = OperatorSession.open(operator.id, clock(), second_factor=step is not None)
        await uow.operator_sessions.add(session)
        await uow.operator_sessions.end_older_than(clock() - LONGEST)
        await uow.commit()
    return SignedOperator(operator, session), token


async def signed_in(
    token: str, uow_factory: UnitOfWorkFactory, clock: Clock
) -> SignedOperator | None:
    """Who the session token belongs to, while the session lives and its operator is
    enabled; its use is noted."""
    if not token:
        return None
    now = clock()
    async with uow_factory(readonly=True) as uow:
        session = await uow.operator_sessions.get(hash_of(token))
        operator = await uow.operators.get(session.operator_id) if session else None
    if session is None or operator is None or not session.signs_in(operator, now):
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        async with uow_factory() as uow:
            await uow.operator_sessions.touch(session)
            await uow.commit()
    return SignedOperator(operator, session)


async def sign_out(signed: SignedOperator, uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.operator_sessions.end(signed.session.token_hash)
        await uow.commit()
