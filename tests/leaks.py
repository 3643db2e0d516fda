"""The logs of the whole test run, searched at its end for what must never be logged.

Every log record of the test process goes to ``pytest-PID.log`` in one directory, as an IPS
process would write it: JSON, with its context, card numbers masked by the net under the log
calls (what comes from outside, a shop's order number, may hold one). Every ``ips`` process
the tests start writes its own file there too: they inherit ``IPS_LOG_DIR`` (the harnesses
that start IPS in a clean environment pass it on, ``passed_on``). When the session ends,
every file is searched for the test cards' numbers (grouped or not), CVCs and PINs as forms
and JSON spell them, the passwords and secret words the tests use, and API keys and webhook
secrets in full; a line that holds one fails the session, named with its file and line.

``IPS_TEST_LOG_DIR`` names the directory (kept); else it is a temporary one, removed when
nothing was found.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demobank.cards import TEST_CARDS
from ips.logs.formats import Context, JsonFormatter
from ips.logs.setup import QUIET

OTHER_CARDS = (
    "378282246310005", "6759649826438453", "4242424242424242", "3530111333300000",
    "2221000000000009", "6200000000000005", "2200000000000004006",
)  # fmt: skip
"""Card numbers of the tests beside the simulator's."""

SECRETS = ("correct horse battery", "another long one", "other-secret", "salt-2")
"""Passwords and secret words of the tests that are worth a search alone; shorter ones
(``secret``, ``demo``) are searched for as a form or JSON spells them (``_NAMED``)."""


def _card(number: str) -> str:
    return r"(?<![0-9])" + r"(?:[ +-]|%20)?".join(number) + r"(?![0-9])"


_SECRET_NAMES = r"password|passwd|pwd|secret_?word|salt|points_pin|pin|cvc2?|cvv2?|csc"
PATTERNS: dict[str, re.Pattern[str]] = {
    "a test card's number": re.compile(
        "|".join(_card(number) for number in (*TEST_CARDS, *OTHER_CARDS))
    ),
    "a password of the tests": re.compile(
        r"(?<![\w-])(?!(?:current|new|ws)-password\b)[\w-]+-password\b"
    ),
    "a secret of the tests": re.compile("|".join(map(re.escape, SECRETS))),
    "a secret as a form spells it": re.compile(
        rf"(?i)(?<![\w-])(?:{_SECRET_NAMES})=(?![*&\s]|$)[^\s&\"',;]+"
    ),
    "a secret as JSON spells it": re.compile(
        rf"(?i)[\"'](?:{_SECRET_NAMES})[\"']\s*:\s*[\"'](?!\*)[^\"']+[\"']"
    ),
    "an API key": re.compile(r"ipsk_[a-z2-7]{16}_[A-Za-z0-9_-]{16,}"),
    "a webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=_-]{16,}"),
}
"""What must never be in a log line, by what it is."""


@dataclass(frozen=True)
class Leak:
    file: Path
    line: int
    what: str
    found: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}: {self.found!r}"


def search(directory: Path) -> Iterator[Leak]:
    """Every line of the logs in ``directory`` that holds what must never be logged (the
    first such thing it holds)."""
    for path in sorted(directory.glob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                text = _readable(line)
                for what, pattern in PATTERNS.items():
                    found = pattern.search(text)
                    if found:
                        yield Leak(path, number, what, found.group())
                        break


def _readable(line: str) -> str:
    """A JSON line's values, unescaped, one a line; any other line as it is."""
    try:
        values = json.loads(line)
    except ValueError:
        return line
    if not isinstance(values, dict):
        return line
    return "\n".join(str(value) for value in values.values())


DIRECTORY = "IPS_LOG_DIR"


def passed_on() -> dict[str, str]:
    """What of the environment a process started in a clean one needs for its logs to be
    searched too."""
    return {DIRECTORY: os.environ[DIRECTORY]} if DIRECTORY in os.environ else {}


class _AsAnIpsProcess(logging.Filter):
    """The records an ``ips`` process would write (``logs.setup``): all of IPS's and the
    simulated bank's, the other libraries' from INFO up, httpx's from WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.partition(".")[0]
        if top in ("ips", "demobank", "paywire"):
            return True
        return record.levelno >= (logging.WARNING if top in QUIET else logging.INFO)


@dataclass
class RunLogs:
    directory: Path
    kept: bool
    handler: logging.Handler


_STASH = pytest.StashKey[RunLogs]()


def start(config: pytest.Config) -> None:
    """The directory of the run's logs, told to the processes the tests start, and the test
    process's records sent there."""
    named = os.environ.get("IPS_TEST_LOG_DIR")
    directory = Path(named) if named else Path(tempfile.mkdtemp(prefix="ips-test-logs-"))
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[DIRECTORY] = str(directory)
    handler = logging.FileHandler(directory / f"pytest-{os.getpid()}.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.addFilter(_AsAnIpsProcess())
    handler.addFilter(Context())
    handler.setFormatter(JsonFormatter("pytest"))
    logging.getLogger().addHandler(handler)
    for name in ("ips", "demobank"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    config.stash[_STASH] = RunLogs(directory, bool(named), handler)


def finish(session: pytest.Session) -> None:
    """Searches the run's logs; a leak fails the session."""
    run = session.config.stash.get(_STASH, None)
    if run is None:
        return
    logging.getLogger().removeHandler(run.handler)
    run.handler.close()
    leaks = list(search(run.directory))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not leaks:
        if not run.kept:
            shutil.rmtree(run.directory, ignore_errors=True)
        return
    title = f"{len(leaks)} log lines hold what must never be logged"
    said = [*map(str, leaks[:50]), f"(the logs of the run are kept in {run.directory})"]
    if reporter is not None:
        reporter.write("\n")  # after the dots of the tests
        reporter.write_sep("=", title, red=True)
        for line in said:
            reporter.write_line(line, red=True)
    else:
        print(title, *said, sep="\n")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
