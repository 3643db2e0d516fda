"""The console's staff in the database (both databases): an administrator's secret sealed,
its second factor held by a constraint, its code's step recorded once, sessions that end."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ips.domain import totp
from ips.domain.audit import Actor, ActorKind
from ips.domain.errors import Conflict, InvalidInput, NotFound, Refused
from ips.domain.operators import Operator, OperatorSession
from ips.domain.users import Role
from ips.services import operators
from ips.storage.tables import operators as operator_rows
from ips.storage.unit_of_work import Database
from tests.console import BY_TESTS
from tests.fakes import ManualClock

PASSWORD = "correct horse battery"


async def test_an_administrator_s_secret_is_sealed_and_shown_once(
    database: Database, clock: ManualClock
) -> None:
    made, enrolment = await operators.add_operator(
        "ada", PASSWORD, Role.ADMIN, database, clock, actor=BY_TESTS
    )
    assert enrolment is not None and enrolment.uri == totp.uri(enrolment.secret, "ada")
    async with database.engine.connect() as conn:
        sealed = (await conn.execute(select(operator_rows.c.sealed_totp_secret))).scalar_one()
    assert enrolment.secret not in sealed
    [listed] = await operators.list_operators(database)
    assert listed.totp_secret == enrolment.secret and listed.id == made.id
    _, none = await operators.add_operator(
        "vika", PASSWORD, Role.VIEWER, database, clock, actor=BY_TESTS
    )
    assert none is None


async def test_the_database_holds_an_administrator_to_its_second_factor(
    database: Database, clock: ManualClock
) -> None:
    made, _ = await operators.add_operator(
        "ada", PASSWORD, Role.ADMIN, database, clock, actor=BY_TESTS
    )
    made.totp_secret = None

    async def store(adding: bool) -> None:
        async with database() as uow:
            if adding:
                await uow.operators.add(Operator("root", "hash", Role.ADMIN, clock()))
            else:
                await uow.operators.save(made)
            await uow.commit()

    for adding in (True, False):
        with pytest.raises(Conflict):
            await store(adding)


async def test_a_step_is_recorded_once_and_never_an_earlier_one(
    database: Database, clock: ManualClock
) -> None:
    made, _ = await operators.add_operator(
        "ada", PASSWORD, Role.ADMIN, database, clock, actor=BY_TESTS
    )
    assert made.id is not None
    async with database() as uow:
        assert await uow.operators.use_step(made.id, 100)
        assert not await uow.operators.use_step(made.id, 100)
        assert not await uow.operators.use_step(made.id, 99)
        assert await uow.operators.use_step(made.id, 101)
        await uow.commit()


async def test_an_administrator_s_session_without_its_second_factor_signs_nobody_in(
    database: Database, clock: ManualClock
) -> None:
    made, _ = await operators.add_operator(
        "ada", PASSWORD, Role.ADMIN, database, clock, actor=BY_TESTS
    )
    assert made.id is not None
    half, token = OperatorSession.open(made.id, clock(), second_factor=False)
    async with database() as uow:
        await uow.operator_sessions.add(half)
        await uow.commit()
    assert await operators.signed_in(token, database, clock) is None


async def test_a_reset_ends_the_administrator_s_sessions_and_its_old_secret(
    database: Database, clock: ManualClock
) -> None:
    _, first = await operators.add_operator(
        "ada", PASSWORD, Role.ADMIN, database, clock, actor=BY_TESTS
    )
    assert first is not None
    code = totp.code_of(totp.key_of(first.secret), totp.step_of(clock()))
    signed, token = await operators.sign_in("ada", PASSWORD, code, database, clock)
    assert signed.session.second_factor_at == clock()
    assert signed.actor("192.0.2.1") == Actor(ActorKind.OPERATOR, "ada", "192.0.2.1")
    assert await operators.signed_in(token, database, clock) is not None
    second = await operators.reset_totp("ada", database, clock, actor=BY_TESTS)
    assert second.secret != first.secret
    assert await operators.signed_in(token, database, clock) is None


async def test_bad_input_is_refused_with_a_reason(database: Database, clock: ManualClock) -> None:
    await operators.add_operator("otto", PASSWORD, Role.OPERATOR, database, clock, actor=BY_TESTS)
    for login, password, error in (
        ("otto", PASSWORD, InvalidInput),  # taken
        ("a b", PASSWORD, InvalidInput),
        ("newbie", "short", InvalidInput),
        ("newbie", "newbie", InvalidInput),
    ):
        with pytest.raises(error):
            await operators.add_operator(
                login, password, Role.VIEWER, database, clock, actor=BY_TESTS
            )
    with pytest.raises(Refused, match="only an administrator"):
        await operators.reset_totp("otto", database, clock, actor=BY_TESTS)
    for change in (
        operators.enable_operator("ghost", database, clock, actor=BY_TESTS),
        operators.disable_operator("ghost", database, clock, actor=BY_TESTS),
    ):
        with pytest.raises(NotFound):
            await change


async def test_disabling_twice_keeps_the_first_moment(
    database: Database, clock: ManualClock
) -> None:
    await operators.add_operator("otto", PASSWORD, Role.OPERATOR, database, clock, actor=BY_TESTS)
    first = (await operators.disable_operator("otto", database, clock, actor=BY_TESTS)).disabled_at
    clock.advance(minutes=5)
    assert (
        await operators.disable_operator("otto", database, clock, actor=BY_TESTS)
    ).disabled_at == first
    assert not (await operators.enable_operator("otto", database, clock, actor=BY_TESTS)).disabled
    [enabled] = await operators.list_operators(database)
    assert not enabled.disabled
