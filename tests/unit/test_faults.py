"""Fault points: the registry agrees with the calls in the code, and ``IPS_FAULTS`` arms them."""

from __future__ import annotations

import ast
import dis
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ips
from ips import faults
from ips.faults import POINTS, Action, FaultInjected, arm, parse

SOURCE = Path(ips.__file__).parent


def placed() -> dict[str, list[str]]:
    """Every ``fault(…)`` call in the package: its argument (as written) and where it is."""
    calls: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "fault"
            ):
                [argument] = node.args
                name = argument.value if isinstance(argument, ast.Constant) else ast.dump(argument)
                where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                calls.setdefault(str(name), []).append(where)
    return calls


def test_every_point_is_placed_and_every_call_names_a_point() -> None:
    calls = placed()
    assert sorted(set(calls) - set(POINTS)) == [], "calls naming no point (or not by a literal)"
    assert sorted(set(POINTS) - set(calls)) == [], "points placed nowhere"
    assert len(POINTS) == len(set(POINTS))


def test_a_spec_names_points_actions_and_passes() -> None:
    assert parse("") == {} and parse(" , ") == {}
    assert parse("payment.authorization.sent=kill, settlement.advice.sent=kill@3,"
                 "notification.sent=sleep:2.5,cancel.committed=raise@1") == {
        "payment.authorization.sent": Action("kill"),
        "settlement.advice.sent": Action("kill", on_pass=3),
        "notification.sent": Action("sleep", 2.5),
        "cancel.committed": Action("raise", on_pass=1),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("payment.authorisation.sent=kill", "no fault point is named 'payment.authorisation.sent'"),
        ("payment.authorization.sent", "NAME=kill, NAME=raise or NAME=sleep:SECONDS"),
        ("payment.authorization.sent=explode", "NAME=kill, NAME=raise or NAME=sleep:SECONDS"),
        ("payment.authorization.sent=sleep", "NAME=kill, NAME=raise or NAME=sleep:SECONDS"),
        ("payment.authorization.sent=kill:3", "NAME=kill, NAME=raise or NAME=sleep:SECONDS"),
        ("payment.authorization.sent=sleep:soon", "SECONDS is a number, 0 or more"),
        ("payment.authorization.sent=sleep:-1", "SECONDS is a number, 0 or more"),
        ("payment.authorization.sent=sleep:nan", "SECONDS is a number, 0 or more"),
        ("payment.authorization.sent=kill@0", "@N counts passes from 1"),
        ("payment.authorization.sent=kill@x", "@N counts passes from 1"),
    ],
)
def test_a_wrong_spec_says_what_is_wrong(spec: str, said: str) -> None:
    with pytest.raises(ValueError, match="IPS_FAULTS") as refused:
        parse(spec)
    assert said in str(refused.value)


def test_unarmed_points_do_nothing_and_check_nothing() -> None:
    unarmed = arm("")
    assert unarmed("payment.authorization.sent") is None
    assert unarmed("no such point") is None  # no check costs a thing on the hot path
    assert unarmed is arm("  ")
    done = {i.opname for i in dis.get_instructions(unarmed)}
    assert done <= {"RESUME", "LOAD_CONST", "RETURN_VALUE", "RETURN_CONST"}, done  # returns
    if not os.environ.get("IPS_FAULTS"):
        assert faults.fault is unarmed


def test_an_armed_point_acts_on_its_passes_only() -> None:
    fault = arm("cancel.committed=raise@2,confirmation.committed=raise")
    fault("cancel.committing")
    fault("cancel.committed")  # the first pass
    with pytest.raises(FaultInjected, match=r"^cancel\.committed$"):
        fault("cancel.committed")
    fault("cancel.committed")  # the third
    for _ in range(2):
        with pytest.raises(FaultInjected):
            fault("confirmation.committed")
    with pytest.raises(ValueError, match=r"no fault point is named 'cancel\.comitted'"):
        fault("cancel.comitted")


def test_sleep_stalls_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("ips.faults.time.sleep", slept.append)
    fault = arm("notification.sent=sleep:1.5@2")
    for _ in range(3):
        fault("notification.sent")
    assert slept == [1.5]


def _python(code: str, spec: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IPS_FAULTS": spec}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def test_kill_ends_the_process_with_sigkill_and_says_where() -> None:
    code = (
        "from ips.faults import fault\n"
        "fault('payment.begin.committing'); print('passed', flush=True)\n"
        "try:\n    fault('payment.begin.committed')\nfinally:\n    print('finally')\n"
    )
    died = _python(code, "payment.begin.committed=kill")
    assert died.returncode == -signal.SIGKILL
    assert died.stdout == "passed\n"  # no finally ran
    assert died.stderr == "fault point payment.begin.committed: kill\n"


def test_a_misspelt_point_in_the_environment_stops_the_process_at_start() -> None:
    stopped = _python("import ips.faults; print('started')", "payment.begun=kill")
    assert stopped.returncode == 1 and stopped.stdout == ""
    assert "IPS_FAULTS: no fault point is named 'payment.begun'" in stopped.stderr
