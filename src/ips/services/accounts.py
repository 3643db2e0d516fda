"""The Personal Account's users: adding them, signing in and out, sessions, passwords.

Signing in checks the password with no transaction open (argon2 is slow on purpose). Each
attempt is counted as a failure before its password is checked, on its guards' locked rows,
and a success takes the count back (``login_guards.py``): so attempts sent at once cannot get
past the lock. Failures are counted per login and source (the browser's address), known
login or not, so that the answer tells nobody which logins exist and a stranger's guesses
lock the stranger: at ``LOCK_AFTER`` failures (``domain/logins.py``) the source is locked out
of the login for ``LOCK_FOR``, and a locked source is refused before any password is checked.
An unknown login costs a password check too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ips.crypto.passwords import hash_password, verify_password
from ips.domain.errors import AuthenticationFailed, InvalidInput, LoginLocked, NotFound
from ips.domain.logins import Subjects
from ips.domain.merchants import Merchant
from ips.domain.users import IDLE, LONGEST, Role, Session, User, check_password, parse_login
from ips.domain.users import token_hash as hash_of
from ips.services.clock import Clock
from ips.services.login_guards import count_attempt, failure, note_success, password_right
from ips.services.merchants import SignedIn
from ips.services.unit_of_work import UnitOfWorkFactory

TOUCH_EVERY = IDLE / 30
"""A session's last use is written at most this often (not on every request)."""
LOCKED = "too many failed sign-ins: the account is locked for a while"


@dataclass(frozen=True)
class Signed:
    """A signed-in user: who, of which merchant, and the session the request came with."""

    user: User
    merchant: Merchant
    session: Session

    @property
    def caller(self) -> SignedIn:
        """The user's merchant as the caller of an operation service."""
        return SignedIn(self.merchant.merchant_id)


async def add_user(
    merchant_id: str, login: str, password: str, role: Role, uow_factory: UnitOfWorkFactory,
    clock: Clock,
) -> User:  # fmt: skip
    login = parse_login(login)
    password_hash = await asyncio.to_thread(hash_password, check_password(password, login))
    user = User(merchant_id, login, password_hash, role, clock())
    async with uow_factory() as uow:
        if await uow.merchants.get(merchant_id) is None:
            raise NotFound("no merchant with this Merchant_ID", field="merchant_id")
        if not await uow.users.add(user):
            raise InvalidInput("this login is taken", field="login")
        await uow.commit()
    return user


async def sign_in(
    login: str, password: str, uow_factory: UnitOfWorkFactory, clock: Clock, *, source: str = ""
) -> tuple[Signed, str]:
    """The signed-in user and the session token for the browser's cookie; ``source`` is the
    browser's address."""
    try:
        login = parse_login(login)
    except InvalidInput:
        await password_right(None, password)
        raise AuthenticationFailed("wrong login or password") from None
    subjects = _subjects(login, source)
    counted, _ = await count_attempt(subjects, uow_factory, clock, LOCKED)
    async with uow_factory(readonly=True) as uow:
        user = await uow.users.by_login(login)
    if user is None or not await password_right(user.password_hash, password):
        raise failure(counted, clock, LOCKED, "wrong login or password")
    async with uow_factory() as uow:
        await note_success(uow, subjects, clock, counted=True)
        assert user.id is not None
        session, token = Session.open(user.id, clock())
        await uow.sessions.add(session)
        await uow.sessions.end_older_than(clock() - LONGEST)
        merchant = await uow.merchants.get(user.merchant_id)
        await uow.commit()
    assert merchant is not None
    return Signed(user, merchant, session), token


async def signed_in(token: str, uow_factory: UnitOfWorkFactory, clock: Clock) -> Signed | None:
    """Who the session token belongs to, while the session lives; its use is noted."""
    if not token:
        return None
    now = clock()
    async with uow_factory(readonly=True) as uow:
        session = await uow.sessions.get(hash_of(token))
        user = await uow.users.get(session.user_id) if session else None
        merchant = await uow.merchants.get(user.merchant_id) if user else None
    if session is None or user is None or merchant is None or not session.alive(now):
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        async with uow_factory() as uow:
            await uow.sessions.touch(session)
            await uow.commit()
    return Signed(user, merchant, session)


async def sign_out(signed: Signed, uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.sessions.end(signed.session.token_hash)
        await uow.commit()


async def change_password(
    signed: Signed, current: str, new: str, uow_factory: UnitOfWorkFactory, clock: Clock, *,
    source: str = "",
) -> None:  # fmt: skip
    """Changes the user's password and ends the user's other sessions. The current password
    is guessed no more freely here than at sign-in: it counts on the same lock."""
    new = check_password(new, signed.user.login)
    subjects = _subjects(signed.user.login, source)
    counted, _ = await count_attempt(subjects, uow_factory, clock, LOCKED)
    if not await verify_password(signed.user.password_hash, current):
        if counted.refused(clock()):
            raise LoginLocked("too many wrong passwords: the account is locked for a while")
        raise AuthenticationFailed("the current password is wrong", field="current")
    password_hash = await asyncio.to_thread(hash_password, new)
    async with uow_factory() as uow:
        await note_success(uow, subjects, clock, counted=True)
        user = await uow.users.get(signed.user.id or 0)
        if user is None:
            raise NotFound("no such user")
        user.password_hash = password_hash
        await uow.users.save(user)
        await uow.sessions.end_others(user.id or 0, keep=signed.session.token_hash)
        await uow.commit()


def _subjects(login: str, source: str) -> Subjects:
    """The guards of a Personal Account login from the browser's address."""
    return Subjects.of(f"cabinet:{login.lower()}", source)


async def users_of(signed: Signed, uow_factory: UnitOfWorkFactory) -> list[User]:
    async with uow_factory(readonly=True) as uow:
        return await uow.users.of_merchant(signed.merchant.merchant_id)


async def change_user(
    signed: Signed, user_id: int, role: Role | None, uow_factory: UnitOfWorkFactory
) -> None:
    """Gives a user of the signed-in user's merchant a new role, or removes it (``None``).
    An administrator cannot change itself: the merchant keeps one."""
    if user_id == signed.user.id:
        raise InvalidInput("you cannot change your own role", field="role")
    async with uow_factory() as uow:
        user = await uow.users.get(user_id)
        if user is None or user.merchant_id != signed.merchant.merchant_id:
            raise NotFound("no such user")
        if role is None:
            await uow.users.remove(user_id)
        else:
            user.role = role
            await uow.users.save(user)
            await uow.sessions.end_others(user_id, keep=None)
        await uow.commit()
