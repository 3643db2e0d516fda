"""The web's words: amounts from minor units with each currency's exponent, dates, plural
forms and the domain's values as each language writes them; the browser's choice of
language; and templates of two languages rendered side by side without one taking the
other's words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import jinja2
import pytest

from ips.domain.money import Money, currency
from ips.domain.orders import CancelReason, Language
from ips.domain.states import OperationStatus, OrderState
from ips.web import i18n
from ips.web.i18n import EN, RU, Words

NBSP = "\u00a0"
RUSSIAN, ENGLISH = Words(RU), Words(EN)


@pytest.mark.parametrize(
    ("minor", "code", "russian", "english"),
    [
        (123456, "RUB", f"1{NBSP}234,56{NBSP}RUB", f"1,234.56{NBSP}RUB"),
        (5, "RUB", f"0,05{NBSP}RUB", f"0.05{NBSP}RUB"),
        (0, "USD", f"0,00{NBSP}USD", f"0.00{NBSP}USD"),
        (123456789012345, "EUR", f"1{NBSP}234{NBSP}567{NBSP}890{NBSP}123,45{NBSP}EUR",
         f"1,234,567,890,123.45{NBSP}EUR"),
        (45000, "JPY", f"45{NBSP}000{NBSP}JPY", f"45,000{NBSP}JPY"),
        (7, "JPY", f"7{NBSP}JPY", f"7{NBSP}JPY"),
        (1234, "BHD", f"1,234{NBSP}BHD", f"1.234{NBSP}BHD"),
        (1234567, "KWD", f"1{NBSP}234,567{NBSP}KWD", f"1,234.567{NBSP}KWD"),
    ],
)  # fmt: skip
def test_an_amount_is_written_from_its_minor_units_with_the_currencys_exponent(
    minor: int, code: str, russian: str, english: str
) -> None:
    money = Money(minor, currency(code))
    assert RUSSIAN.money(money) == russian
    assert ENGLISH.money(money) == english
    assert ENGLISH.amount(money) == english.removesuffix(f"{NBSP}{code}")


def test_fifteen_digit_amounts_keep_every_digit() -> None:
    """Through Decimal, never a float: 999 999 999 999 999 minor units are not rounded."""
    money = Money(999_999_999_999_999, currency("RUB"))
    assert ENGLISH.amount(money) == "9,999,999,999,999.99"
    assert RUSSIAN.amount(money) == f"9{NBSP}999{NBSP}999{NBSP}999{NBSP}999,99"


def test_an_amount_in_a_form_field_is_ungrouped_with_the_languages_decimal_sign() -> None:
    assert RUSSIAN.typed(Money(123456, currency("RUB"))) == "1234,56"
    assert ENGLISH.typed(Money(123456, currency("RUB"))) == "1234.56"
    assert RUSSIAN.typed(Money(45000, currency("JPY"))) == "45000"


def test_no_amount_is_written_as_nothing() -> None:
    assert RUSSIAN.money(None) == ENGLISH.money(None) == ""


def test_a_rate_keeps_its_digits() -> None:
    assert RUSSIAN.number(Decimal("92.5012")) == "92,5012"
    assert ENGLISH.number(Decimal("1234.5")) == "1,234.5"


def test_dates_and_moments_as_each_language_writes_them() -> None:
    at = datetime(2026, 11, 3, 5, 41, 7, tzinfo=UTC)
    assert RUSSIAN.moment(at) == "03.11.2026, 05:41:07"
    assert ENGLISH.moment(at) == "3 Nov 2026, 05:41:07"  # never the month first
    assert RUSSIAN.day(at.date()) == "03.11.2026"
    assert ENGLISH.day(date(2026, 1, 30)) == "30 Jan 2026"
    assert RUSSIAN.short_day(date(2026, 5, 9)) == "9 мая"
    assert ENGLISH.short_day(date(2026, 5, 9)) == "9 May"
    assert ENGLISH.moment(None) == ""


def test_a_moment_is_shown_in_utc() -> None:
    moscow = datetime(2026, 11, 3, 8, 41, 7, tzinfo=timezone(timedelta(hours=3)))
    assert RUSSIAN.moment(moscow) == "03.11.2026, 05:41:07"
    naive = datetime(2026, 11, 3, 5, 41, 7)  # as SQLite gives it back: UTC
    assert ENGLISH.moment(naive) == "3 Nov 2026, 05:41:07"


@pytest.mark.parametrize(
    ("n", "russian"),
    [(1, "ещё 1 день"), (2, "ещё 2 дня"), (5, "ещё 5 дней"), (11, "ещё 11 дней"),
     (21, "ещё 21 день"), (22, "ещё 22 дня"), (112, "ещё 112 дней")],
)  # fmt: skip
def test_russian_has_three_plural_forms(n: int, russian: str) -> None:
    assert RUSSIAN.ngettext("%(num)d day", "%(num)d days", n) == russian
    assert ENGLISH.ngettext("%(num)d day", "%(num)d days", n) == (
        "1 day" if n == 1 else f"{n} days"
    )


def test_values_go_into_the_translation_by_name() -> None:
    assert RUSSIAN.gettext("Order %(number)s", number="A-1") == "Заказ A-1"
    assert ENGLISH.gettext("Order %(number)s", number="A-1") == "Order A-1"
    assert ENGLISH.gettext("a message no catalogue holds") == "a message no catalogue holds"


def test_the_domains_values_have_words_and_english_keeps_the_assist_codes() -> None:
    assert ENGLISH.name(OrderState.PARTIAL_DELAYED) == "PartialDelayed"
    assert RUSSIAN.name(OrderState.APPROVED) == "Оплачен"
    assert RUSSIAN.name(OrderState.DELAYED) == "Ожидает подтверждения"
    assert RUSSIAN.name(OperationStatus.IN_PROCESS) == "в обработке"
    assert RUSSIAN.name(CancelReason.CUSTOMER) == "По просьбе покупателя"
    assert all(RUSSIAN.name(state) != state.value for state in OrderState)


def test_a_domain_message_becomes_a_sentence_translated_when_the_catalogue_has_it() -> None:
    said = "the period ends before it begins"
    assert ENGLISH.sentence(said) == "The period ends before it begins."
    assert RUSSIAN.sentence(said) == "Период заканчивается раньше, чем начинается."
    assert RUSSIAN.knows(said)
    made = "amount '1,5' is not a decimal number like 100.00"
    assert not RUSSIAN.knows(made)
    assert RUSSIAN.sentence(made) == "Amount '1,5' is not a decimal number like 100.00."
    assert RUSSIAN.sentence("Done!") == "Done!" and ENGLISH.sentence("") == ""


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", RU),
        ("en-GB,en;q=0.9,ru;q=0.8", EN),
        ("de-DE,de;q=0.9,ru;q=0.5,en;q=0.4", RU),
        ("en;q=0.4, ru;q=0.8", RU),
        ("RU", RU),
        ("de, fr", None),
        ("ru;q=0, en;q=0.1", EN),
        ("ru;q=x, en", EN),
        ("", None),
    ],
)
def test_the_browsers_first_choice_of_russian_or_english(
    header: str, language: Language | None
) -> None:
    assert i18n.preferred(header) is language


def test_templates_of_two_languages_render_side_by_side() -> None:
    """The language is the page's, not the process's: two pages streamed at once, a piece
    of each in turn, keep their own words."""
    env = jinja2.Environment(autoescape=True)
    i18n.install(env)
    template = env.from_string(
        "{% for n in range(3) %}{{ _('Orders') }} {{ amount | money }}|{% endfor %}"
        "{{ ngettext('%(num)d day', '%(num)d days', 2) }}"
    )
    amount = Money(123456, currency("RUB"))
    russian = template.generate(i18n.context(RU) | {"amount": amount})
    english = template.generate(i18n.context(EN) | {"amount": amount})
    pieces: dict[str, list[str]] = {"ru": [], "en": []}
    for ru_piece, en_piece in zip(russian, english, strict=False):
        pieces["ru"].append(ru_piece)
        pieces["en"].append(en_piece)
    pieces["ru"] += list(russian)
    pieces["en"] += list(english)
    assert "".join(pieces["ru"]) == f"Заказы 1{NBSP}234,56{NBSP}RUB|" * 3 + "ещё 2 дня"
    assert "".join(pieces["en"]) == f"Orders 1,234.56{NBSP}RUB|" * 3 + "2 days"


def test_a_template_without_words_is_in_english_and_values_are_escaped() -> None:
    env = jinja2.Environment(autoescape=True)
    i18n.install(env)
    page = env.from_string("{{ _('Order %(number)s', number=n) }} {{ _('Orders') }}")
    assert page.render(n="<b>") == "Order &lt;b&gt; Orders"
