"""The log lines: what JSON and text lines carry, the net that masks card numbers, what the
work under way says about itself (``logs.context``), how a process is configured, and the
search of a run's logs for what must never be in them (``tests/leaks.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from ips.config import Settings
from ips.domain.orders import new_billnumber
from ips.logs.context import about, detached, known, scope
from ips.logs.formats import Context, JsonFormatter, TextFormatter, mask_card_numbers
from paywire.luhn import luhn_valid
from tests import leaks


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    """A record as the ``ips.test`` logger makes it, with what the work knows now."""
    made = logging.getLogger("ips.test").makeRecord(
        "ips.test",
        logging.WARNING,
        __file__,
        1,
        message,
        args,
        (type(exc), exc, exc.__traceback__) if exc else None,
    )
    Context().filter(made)
    return made


def json_line(message: str, *args: object, exc: BaseException | None = None) -> dict[str, object]:
    line = JsonFormatter("ips serve", "node-1", 4242).format(record(message, *args, exc=exc))
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_json_line_says_when_what_and_where() -> None:
    line = json_line("payment %s: %s", "1000000000000001.1", "approved")
    assert str(line.pop("time")).endswith("Z")
    assert line == {
        "level": "WARNING",
        "logger": "ips.test",
        "message": "payment 1000000000000001.1: approved",
        "process": "ips serve",
        "host": "node-1",
        "pid": 4242,
    }


def test_a_json_line_carries_what_the_work_knows() -> None:
    with scope(request_id="r-1", merchant_id="111111"):
        about(billnumber="1000000000000001", operation="1000000000000001.1", stan="000017")
        about(acquirer="default", job=None)
        line = json_line("paid")
    assert {k: line[k] for k in ("request_id", "merchant_id", "billnumber", "operation")} == {
        "request_id": "r-1",
        "merchant_id": "111111",
        "billnumber": "1000000000000001",
        "operation": "1000000000000001.1",
    }
    assert line["stan"] == "000017" and line["acquirer"] == "default" and "job" not in line


def test_a_json_line_carries_the_traceback_with_card_numbers_masked() -> None:
    try:
        raise ValueError("bad card 4111111111111111")
    except ValueError as exc:
        line = json_line("it failed", exc=exc)
    exception = str(line["exception"])
    assert exception.startswith("Traceback (most recent call last)")
    assert "ValueError: bad card 411111****1111" in exception
    assert "4111111111111111" not in exception


def test_a_text_line_reads_as_before_with_the_context_after_the_message() -> None:
    with scope(request_id="r-2", billnumber="1000000000000001"):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            text = TextFormatter().format(record("paid %s", "4000 0000 0000 0002", exc=exc))
    first, _, rest = text.partition("\n")
    assert first.endswith(
        "WARNING ips.test: paid 400000****0002 [request_id=r-2 billnumber=1000000000000001]"
    )
    assert rest.startswith("Traceback") and rest.endswith("RuntimeError: boom")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4111111111111111.", "card 411111****1111."),
        ("4111 1111 1111 1111", "411111****1111"),
        ("4111-1111-1111-1111 12/30", "411111****1111 12/30"),
        ("4111 1111 1111 1111 2030", "411111****1111 2030"),
        ("amex 378282246310005, mir 2200000000000004", "amex 378282****0005, mir 220000****0004"),
        ("a 19-digit one: 2200000000000004006", "a 19-digit one: 220000****4006"),
    ],
)
def test_card_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails the Luhn check
        "order 1000000000000001.2: 100.00 RUB at 2025-05-01 12:00:00",
        "RRN 633600000001, STAN 000001, acquirer 10000000001",
        "12345678901234567890",  # longer than any card number
        "1 2 3",
    ],
)
def test_what_is_no_card_number_is_left_alone(text: str) -> None:
    assert mask_card_numbers(text) == text


def test_the_billnumber_the_line_is_about_is_never_masked() -> None:
    old = "4111111111111111"  # an old billnumber may pass the Luhn check
    with scope(billnumber=old):
        line = json_line("order %s paid", old)
    assert line["message"] == f"order {old} paid"
    assert mask_card_numbers(f"order {old}", keep=(old,)) == f"order {old}"


def test_new_billnumbers_never_look_like_card_numbers() -> None:
    drawn = [new_billnumber() for _ in range(2000)]
    assert all(len(b) == 16 and b.isdigit() and not luhn_valid(b) for b in drawn)
    assert len(set(drawn)) == len(drawn)


def test_another_order_or_operation_forgets_what_was_known_of_the_one_before() -> None:
    with scope(request_id="r-4", merchant_id="111111"):
        about(billnumber="1", operation="1.1", stan="000001", acquirer="default")
        about(operation="1.2")
        assert dict(known()) == {
            "request_id": "r-4", "merchant_id": "111111", "billnumber": "1", "operation": "1.2",
            "acquirer": "default",
        }  # fmt: skip
        about(billnumber="2", merchant_id="222222")
        assert dict(known()) == {"request_id": "r-4", "merchant_id": "222222", "billnumber": "2"}
        about(billnumber="2", stan="000002")
        assert known()["stan"] == "000002"


def test_a_scope_forgets_what_its_work_learned() -> None:
    with scope(request_id="outer"):
        with scope(billnumber="1"):
            about(stan="000001")
            assert dict(known()) == {"request_id": "outer", "billnumber": "1", "stan": "000001"}
        assert dict(known()) == {"request_id": "outer"}
    assert dict(known()) == {}


def test_a_scope_afresh_knows_nothing_of_the_work_around_it() -> None:
    with scope(merchant_id="111111", billnumber="1"), scope(request_id="r-5", afresh=True):
        assert dict(known()) == {"request_id": "r-5"}


async def test_a_task_takes_a_copy_and_a_detached_one_nothing() -> None:
    async def learns() -> dict[str, str]:
        about(stan="000002")
        return dict(known())

    with scope(request_id="r-3"):
        assert await asyncio.create_task(learns()) == {"request_id": "r-3", "stan": "000002"}
        assert dict(known()) == {"request_id": "r-3"}  # the task's own is not the caller's
        alone = asyncio.create_task(learns(), context=detached())
        assert await alone == {"stan": "000002"}


def test_the_settings_of_the_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IPS_LOG_FORMAT", "IPS_LOG_LEVEL", "IPS_LOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.log_format, settings.log_level, settings.log_dir) == ("json", "INFO", None)
    monkeypatch.setenv("IPS_LOG_FORMAT", "Text")
    monkeypatch.setenv("IPS_LOG_LEVEL", "debug")
    monkeypatch.setenv("IPS_LOG_DIR", "")
    settings = Settings()
    assert (settings.log_format, settings.log_level, settings.log_dir) == ("text", "DEBUG", None)
    monkeypatch.setenv("IPS_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings()


CONFIGURED = """
import logging, sys
from pathlib import Path
from ips.logs.context import about
from ips.logs.setup import configure

configure("ips worker", format=sys.argv[1], level="DEBUG", directory=Path(sys.argv[2]))
configure("ips worker", format=sys.argv[1], level="DEBUG", directory=Path(sys.argv[2]))
about(billnumber="1000000000000001")
logging.getLogger("ips.services.janitor").debug("card %s", "4111111111111111")
logging.getLogger("uvicorn.error").info("Started server process")
logging.getLogger("httpx").info("HTTP Request: POST https://shop.example/?Password=x")
logging.getLogger("sqlalchemy.engine.Engine").debug("SELECT")
"""


@pytest.mark.parametrize("form", ["json", "text"])
def test_a_process_logs_its_lines_once_to_standard_error_and_its_file(
    form: str, tmp_path: Path
) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", CONFIGURED, form, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(sys.path)},
    )
    [written] = tmp_path.glob("ips-worker-*.log")
    assert written.read_text() == ran.stderr
    lines = ran.stderr.splitlines()
    assert len(lines) == 2, ran.stderr  # IPS's debug and uvicorn's info; httpx's and no SQL
    if form == "json":
        first, second = map(json.loads, lines)
        assert first["message"] == "card 411111****1111"
        assert first["billnumber"] == "1000000000000001" and first["process"] == "ips worker"
        assert second["logger"] == "uvicorn.error"
    else:
        assert lines[0].endswith(
            "DEBUG ips.services.janitor: card 411111****1111 [billnumber=1000000000000001]"
        )


def test_the_search_of_the_logs_finds_what_must_never_be_there(tmp_path: Path) -> None:
    leaked = [
        "card 4111111111111111",
        "form {'card_number': '4000 0000 0000 0002'}",
        "posted cvc=737&exp_month=12",
        'body {"cvc": "123"}',
        "Password=shop-password",
        "{'points_pin': '1111'}",
        "the secret word 'salt-2'",
        "key ipsk_abcdefghijklmnop_" + "A" * 43,
        "webhook whsec_" + "B" * 43,
    ]
    clean = [
        "card 411111****1111, CVC ***, {'48': '***'}",
        "order 1000000000000001.1 of 100.00 RUB: STAN 000123, code 1234 answered 00",
        "wrong password for login shop; the secret word changed",
        "key ipsk_abcdefghijklmnop (revoked), cvc=*** password=",
        "autocomplete=current-password, new-password; POST /admin/merchants/1/ws-password",
    ]
    (tmp_path / "ips-serve-1.log").write_text(
        "".join(json.dumps({"message": message}) + "\n" for message in leaked + clean)
    )
    found = list(leaks.search(tmp_path))
    assert [leak.line for leak in found] == list(range(1, len(leaked) + 1)), found
