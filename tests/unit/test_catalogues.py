"""The gettext catalogues hold what the code says: every message `pybabel extract` finds (run
as docs/translations.md runs it, with babel.cfg) is in the template and in every catalogue,
translated into Russian — no fuzzy or empty translation, the same values by name — and no
catalogue keeps a message the code no longer says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from ips.web.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
Key = tuple[str | tuple[str, ...] | list[str], str | None]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("catalogues") / "messages.pot"
    CommandLineInterface().run(  # type: ignore[no-untyped-call]
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot),
         str(ROOT / "src" / "ips")]
    )  # fmt: skip
    with pot.open("rb") as file:
        return read_po(file)


def catalogue(name: str) -> Catalog:
    path = LOCALE_DIR / name if name.endswith(".pot") else LOCALE_DIR / name / "LC_MESSAGES"
    path = path if path.suffix == ".pot" else path / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=None if name.endswith(".pot") else name)


def keys(catalog: Catalog) -> set[Key]:
    return {(message.id, message.context) for message in catalog if message.id}


def translations(message: Message) -> list[str]:
    strings = message.string
    return list(strings) if isinstance(strings, tuple | list) else [strings or ""]


def test_the_code_says_enough_to_be_worth_a_catalogue(extracted: Catalog) -> None:
    said = keys(extracted)
    assert len(said) > 300
    assert {("Orders", None), ("Sign in", "heading"), ("How would you like to pay?", None)} <= said
    assert ("the period ends before it begins", None) in said  # an error a route raises
    assert ("this login is taken", None) in said  # a service's error the cabinet shows


@pytest.mark.parametrize("name", ["messages.pot", "ru", "en"])
def test_every_catalogue_holds_exactly_the_messages_of_the_code(
    extracted: Catalog, name: str
) -> None:
    held = keys(catalogue(name))
    missing, stale = keys(extracted) - held, held - keys(extracted)
    assert not missing and not stale, (
        f"{name}: run pybabel extract and pybabel update (docs/translations.md); "
        f"missing {sorted(map(str, missing))[:10]}, stale {sorted(map(str, stale))[:10]}"
    )


def test_every_message_is_translated_into_russian(extracted: Catalog) -> None:
    russian = catalogue("ru")
    untranslated = []
    for said in extracted:
        if not said.id:
            continue
        message = russian.get(said.id, said.context)
        if (
            message is None
            or message.fuzzy
            or not all(translations(message))
            or len(translations(message)) != (russian.num_plurals if said.pluralizable else 1)
        ):
            untranslated.append(said.id)
    assert not untranslated, untranslated


def test_translations_take_the_values_the_messages_give() -> None:
    """`%(name)s` in the English is `%(name)s` in every Russian form, none left out or added;
    a `%` that is not a value is written `%%` in both."""
    russian = catalogue("ru")
    problems = [(m.id, [str(error) for error in errors]) for m, errors in russian.check() if errors]
    for message in russian:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else message.id[-1]
        for translation in translations(message):
            if values(translation) != values(english):
                problems.append((message.id, [translation]))
    assert not problems, problems


def values(text: str) -> tuple[list[str], int]:
    return sorted(re.findall(r"%\((\w+)\)", text)), text.count("%%")
