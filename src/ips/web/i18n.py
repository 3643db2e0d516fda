"""The web's words in Russian and English: gettext catalogues, and amounts and dates as each
language writes them.

The messages are English sentences (the msgids); ``src/ips/locale/<ll>/LC_MESSAGES/
messages.po`` holds their translations, compiled in memory when this module is imported —
no ``.mo`` file to forget to rebuild. Every msgid is a Python format string: a value goes in
as ``%(name)s`` and a percent sign is written ``%%``, in templates (``_("Order
%(number)s", number=…)``) and in code (``words.gettext("Order %(number)s", number=…)``)
alike. How to extract, translate and check them: ``docs/translations.md``.

A page's language travels with the page: ``Words`` of one language in the template's
context (``words``), never a language installed for the whole process, so requests in
different languages may be served at the same time. A template without ``words`` is in
English.

Amounts are written from their integer minor units with the currency's own exponent
(``1 234,56 RUB`` in Russian, ``1,234.56 RUB`` in English: the ISO code, which accountants
read at a glance, not a symbol); dates and times as each language writes them, in UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel.dates import format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol
from babel.support import Translations

from ips.domain.api_keys import Scope
from ips.domain.money import Money
from ips.domain.orders import (
    CancelReason,
    Language,
    OperationKind,
    PaymentMeans,
    TransactionKind,
)
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.domain.users import Role

RU, EN = Language.RU, Language.EN

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

ENDONYMS = {RU: "Русский", EN: "English"}
"""Each language by its own name: what a link to it says, whatever the page's language."""


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is written; it is translated where it is
    shown."""
    return message


@dataclass(frozen=True)
class _Style:
    """How a language writes: the Babel locale of its numbers and dates, and the skeletons
    (CLDR) of a date in a table and of a day on a chart's axis."""

    locale: str
    date: str
    short_day: str


STYLES = {
    RU: _Style("ru", "yMd", "MMMd"),  # 03.11.2026, 3 нояб.
    EN: _Style("en_GB", "yMMMd", "MMMd"),  # 3 Nov 2026, 3 Nov: never a month-first 11/3
}


def _read(language: Language) -> Catalog:
    path = LOCALE_DIR / language.value.lower() / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        return read_po(po, locale=language.value.lower(), domain=DOMAIN)


def _compiled(catalog: Catalog) -> Translations:
    """A catalogue compiled (fuzzy and empty translations left out: their English is shown)."""
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


_SOURCES = {language: _read(language) for language in Language}
CATALOGUES = {language: _compiled(source) for language, source in _SOURCES.items()}
MESSAGES = frozenset(m.id for m in _SOURCES[EN] if isinstance(m.id, str) and m.id)
"""Every msgid (singular) the catalogues hold."""


NAMES: dict[enum.Enum, str] = {
    OrderState.IN_PROCESS: N_("In Process"),
    OrderState.DELAYED: N_("Delayed"),
    OrderState.APPROVED: N_("Approved"),
    OrderState.PARTIAL_DELAYED: N_("PartialDelayed"),
    OrderState.CANCELED: N_("Canceled"),
    OrderState.PARTIAL_CANCELED: N_("PartialCanceled"),
    OrderState.DECLINED: N_("Declined"),
    OrderState.TIMEOUT: N_("Timeout"),
    OperationKind.PAYMENT: N_("payment"),
    OperationKind.CONFIRMATION: N_("confirmation"),
    OperationKind.CANCEL: N_("cancel"),
    OperationKind.BONUS_ACCRUAL: N_("bonus accrual"),
    OperationStatus.IN_PROCESS: N_("in process"),
    OperationStatus.SUCCESS: N_("success"),
    OperationStatus.DECLINED: N_("declined"),
    OperationStatus.TIMEOUT: N_("no answer"),
    OperationStatus.ERROR: N_("error"),
    PaymentMeans.CARD: N_("bank card"),
    PaymentMeans.WALLET: N_("e-wallet"),
    PaymentMeans.POINTS: N_("bonus points"),
    CancelReason.SHOP: N_("Shop"),
    CancelReason.CUSTOMER: N_("Customer"),
    CancelReason.FRAUD: N_("Fraud"),
    CancelReason.HOLD_EXPIRED: N_("Hold expired"),
    TransactionKind.AUTHENTICATION: N_("authentication"),
    TransactionKind.WALLET_PAYMENT: N_("wallet payment"),
    TransactionKind.WALLET_REFUND: N_("wallet refund"),
    TransactionKind.POINTS_RESERVATION: N_("points reservation"),
    TransactionKind.POINTS_SPEND: N_("points spend"),
    TransactionKind.POINTS_RELEASE: N_("points release"),
    TransactionKind.POINTS_GIVE_BACK: N_("points given back"),
    TransactionKind.POINTS_ACCRUAL: N_("points accrual"),
    TransactionKind.POINTS_ACCRUAL_REVERSAL: N_("accrual reversal"),
    TransactionKind.AUTHORIZATION: N_("authorization"),
    TransactionKind.REVERSAL: N_("reversal"),
    TransactionKind.COMPLETION: N_("completion"),
    TransactionKind.REFUND: N_("refund"),
    TransactionKind.FINANCIAL: N_("financial"),
    TransactionStatus.CREATED: N_("created"),
    TransactionStatus.SENT: N_("sent"),
    TransactionStatus.APPROVED: N_("approved"),
    TransactionStatus.DECLINED: N_("declined"),
    TransactionStatus.UNKNOWN: N_("unknown"),
    TransactionStatus.REVERSED: N_("reversed"),
    Role.VIEWER: N_("viewer"),
    Role.OPERATOR: N_("operator"),
    Role.ADMIN: N_("admin"),
    Scope.READ: N_("read"),
    Scope.WRITE: N_("write"),
}
"""The words a page shows for the domain's values. In English an order's state is its Assist
code, as shops know it; the codes stay in data (the CSV, the web services) in every
language."""


@dataclass(frozen=True)
class Words:
    """The words of one language: its translations, and how it writes amounts and dates."""

    language: Language

    @property
    def code(self) -> str:
        """The language's tag, as ``<html lang>`` and ``Content-Language`` carry it."""
        return self.language.value.lower()

    @property
    def _style(self) -> _Style:
        return STYLES[self.language]

    def gettext(self, message: str, **values: object) -> str:
        return CATALOGUES[self.language].gettext(message) % values

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form for ``n`` (Russian has three), with ``n`` as ``%(num)d``."""
        return CATALOGUES[self.language].ngettext(singular, plural, n) % ({"num": n} | values)

    def name(self, value: enum.Enum) -> str:
        """A value of the domain (an order's state, a way to pay…) in words; its code when
        it has no words of its own."""
        known = NAMES.get(value)
        return self.gettext(known) if known is not None else str(value.value)

    def knows(self, message: str) -> bool:
        """Whether ``message`` is one of the catalogues' (the domain's messages made with
        values are not)."""
        return message in MESSAGES

    def sentence(self, message: str) -> str:
        """A message of the domain (``the period ends before it begins``), translated when the
        catalogue has it, as a sentence: a capital first, a full stop last."""
        said = CATALOGUES[self.language].gettext(message) if message else ""
        if not said:
            return said
        said = said[0].upper() + said[1:]
        return said if said.endswith((".", "!", "?")) else f"{said}."

    def amount(self, value: Money) -> str:
        """The number alone: ``1 234,56`` in Russian, ``1,234.56`` in English, with exactly
        the currency's exponent of decimals (none for JPY, three for BHD)."""
        exponent = value.currency.exponent
        pattern = "#,##0" + ("." + "0" * exponent if exponent else "")
        number = Decimal(value.minor).scaleb(-exponent)
        return format_decimal(number, format=pattern, locale=self._style.locale)

    def number(self, value: Decimal | int) -> str:
        """A number as the language writes it, every digit kept (an exchange rate)."""
        return format_decimal(value, locale=self._style.locale, decimal_quantization=False)

    def typed(self, value: Money) -> str:
        """The amount as a form field holds it: no grouping, the language's decimal sign
        (``1234,56``; the forms take either sign)."""
        return value.format().replace(".", get_decimal_symbol(self._style.locale))

    def money(self, value: Money | None) -> str:
        """``1 234,56 RUB`` (no-break spaces); nothing for no amount."""
        return f"{self.amount(value)}\u00a0{value.currency.code}" if value is not None else ""

    def day(self, value: date) -> str:
        """``03.11.2026`` in Russian, ``3 Nov 2026`` in English."""
        return format_skeleton(self._style.date, value, locale=self._style.locale)

    def short_day(self, value: date) -> str:
        """A day on a chart's axis: ``3 нояб.``, ``3 Nov``."""
        return format_skeleton(self._style.short_day, value, locale=self._style.locale)

    def moment(self, value: datetime | None) -> str:
        """A moment in UTC to the second: ``03.11.2026, 05:41:07``, ``3 Nov 2026, 05:41:07``;
        nothing for no moment."""
        if value is None:
            return ""
        at = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        locale = self._style.locale
        time = format_skeleton("Hms", at, tzinfo=UTC, locale=locale)
        pattern = Locale.parse(locale).datetime_formats["medium"]
        return str(pattern).replace("{1}", self.day(at.date())).replace("{0}", time)


ENGLISH = Words(EN)


def preferred(accept_language: str) -> Language | None:
    """The browser's first choice of Russian or English (``Accept-Language``), if it has one."""
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag.strip().lower()[:2]))
    for _, _, tag in sorted(ranked):
        if tag in ("ru", "en"):
            return RU if tag == "ru" else EN
    return None


def chosen(value: str) -> Language | None:
    """A language named by its tag (``ru``, ``EN``), if it is one of the pages'."""
    upper = value.strip().upper()
    return Language(upper) if upper in Language.__members__ else None


def context(language: Language) -> dict[str, Any]:
    """What a template of a page in ``language`` is given: ``words`` (the gettext callables
    and the filters read them), ``lang``, and ``other_lang`` with its own ``other_name``."""
    other = EN if language is RU else RU
    return {
        "words": Words(language),
        "lang": language,
        "other_lang": other,
        "other_name": ENDONYMS[other],
    }


def _words(template: jinja2.runtime.Context) -> Words:
    words = template.get("words")
    return words if isinstance(words, Words) else ENGLISH


def install(env: jinja2.Environment) -> None:
    """Gives ``env``'s templates ``_``/``gettext``, ``ngettext`` and ``pgettext`` (new style:
    values by name, escaped) and the filters ``money``, ``number``, ``moment``, ``day``,
    ``name`` and ``sentence``, all in the language of the ``words`` each page is rendered
    with."""

    @jinja2.pass_context
    def gettext(template: jinja2.runtime.Context, message: str) -> str:
        return CATALOGUES[_words(template).language].gettext(message)

    @jinja2.pass_context
    def ngettext(template: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
        return CATALOGUES[_words(template).language].ngettext(singular, plural, n)

    @jinja2.pass_context
    def pgettext(template: jinja2.runtime.Context, context: str, message: str) -> str:
        return str(CATALOGUES[_words(template).language].pgettext(context, message))

    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext
    )
    env.filters["money"] = jinja2.pass_context(lambda t, value: _words(t).money(value))
    env.filters["moment"] = jinja2.pass_context(lambda t, value: _words(t).moment(value))
    env.filters["number"] = jinja2.pass_context(lambda t, value: _words(t).number(value))
    env.filters["day"] = jinja2.pass_context(lambda t, value: _words(t).day(value))
    env.filters["name"] = jinja2.pass_context(lambda t, value: _words(t).name(value))
    env.filters["sentence"] = jinja2.pass_context(
        lambda t, message: _words(t).sentence(getattr(message, "message", message))
    )
