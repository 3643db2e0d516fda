"""The daily turnover chart of the Order Monitor, drawn on the server as inline SVG.

The SVG is self-contained and fit for the Personal Account's Content-Security-Policy: no
script, no reference to anything outside it, no ``style`` attribute or element — colours
and fonts are presentation attributes, and each series carries a class name (``paid``,
``confirmed``, ``cancelled``) for a stylesheet to restyle. It is an image to assistive
technology (``role="img"``) named by its ``<title>`` and summed up in its ``<desc>``; each
bar has its own ``<title>``, which browsers show as a tooltip.

Up to ``MAX_BARS_DAYS`` days are drawn as groups of three bars, longer periods as three
lines. Days run on a continuous axis: a day without payments is a gap, not skipped. Its words,
amounts and days are in the language of the ``Words`` it is drawn with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from ips.domain.money import Currency, Money
from ips.services.monitor import TurnoverDay
from ips.web.i18n import ENGLISH, N_, Words

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 40, 44
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_BARS_DAYS = 62
Y_TICKS = 4
X_LABELS = 6


@dataclass(frozen=True)
class _Series:
    name: str
    """Its class name, for a stylesheet."""
    label: str
    """Its words (a msgid)."""
    colour: str


SERIES = (
    _Series("paid", N_("paid"), "#3b6fb6"),
    _Series("confirmed", N_("confirmed"), "#2e8b57"),
    _Series("cancelled", N_("cancelled"), "#c0392b"),
)


def turnover_svg(days: list[TurnoverDay], currency: Currency, words: Words = ENGLISH) -> str:
    """The chart of the days in ``currency`` (days in other currencies are left out)."""
    amounts = _by_day(day for day in days if day.currency == currency)
    ident = f"turnover-{currency.code.lower()}"
    if not amounts:
        return _empty(ident, currency, words)
    first, last = min(amounts), max(amounts)
    span = (last - first).days + 1
    top, step = _scale(max(max(values) for values in amounts.values()))
    body = [*_grid(top, step, currency, words), *_x_labels(first, span, words), *_legend(words)]
    if span <= MAX_BARS_DAYS:
        body += _bars(amounts, first, span, top, currency, words)
    else:
        body += _lines(amounts, first, span, top)
    title = words.gettext(
        "Daily turnover in %(currency)s, %(first)s to %(last)s",
        currency=currency.code, first=words.day(first), last=words.day(last),
    )  # fmt: skip
    return _svg(ident, WIDTH, HEIGHT, title, _description(amounts, currency, words), body)


def _by_day(days: Iterable[TurnoverDay]) -> dict[date, tuple[int, int, int]]:
    amounts: dict[date, tuple[int, int, int]] = {}
    for day in days:
        paid, confirmed, cancelled = amounts.get(day.day, (0, 0, 0))
        amounts[day.day] = (
            paid + day.paid.minor,
            confirmed + day.confirmed.minor,
            cancelled + day.cancelled.minor,
        )
    return amounts


def _scale(highest: int) -> tuple[int, int]:
    """The top of the y axis and the step of its ticks, in minor units: a round step
    (1, 2 or 5 times a power of ten) with the highest value under the top."""
    raw = max(1, -(-highest // Y_TICKS))
    power = 1
    while power * 10 <= raw:
        power *= 10
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= raw)
    return step * max(1, -(-highest // step)), step


def _y(value: int, top: int) -> float:
    return TOP + PLOT_H - PLOT_H * value / top


def _grid(top: int, step: int, currency: Currency, words: Words) -> list[str]:
    parts = [
        f'<g class="axis" stroke="#c8ccd2" stroke-width="1">'
        f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}"/>'
        "</g>"
    ]
    labels = []
    for value in range(0, top + 1, step):
        y = _y(value, top)
        if value:
            parts.append(
                f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}"'
                ' stroke="#e6e8eb" stroke-width="1"/>'
            )
        labels.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_text(words.amount(Money(value, currency)))}</text>"
        )
    parts.append(
        f'<g class="y-labels" fill="#4a4f57">{"".join(labels)}</g>'
        f'<text class="unit" x="{LEFT - 6}" y="{TOP - 12}" text-anchor="end" fill="#4a4f57">'
        f"{_text(currency.code)}</text>"
    )
    return parts


def _slot(span: int) -> float:
    return PLOT_W / span


def _x_labels(first: date, span: int, words: Words) -> list[str]:
    count = min(span, X_LABELS)
    offsets = sorted({round(i * (span - 1) / max(1, count - 1)) for i in range(count)})
    labels = [
        f'<text x="{min(LEFT + (offset + 0.5) * _slot(span), WIDTH - 36):.1f}"'
        f' y="{TOP + PLOT_H + 18}"'
        f' text-anchor="middle">{_text(words.short_day(first + timedelta(days=offset)))}</text>'
        for offset in offsets
    ]
    return [f'<g class="x-labels" fill="#4a4f57">{"".join(labels)}</g>']


def _legend(words: Words) -> list[str]:
    items = []
    for index, series in enumerate(SERIES):
        x = LEFT + index * 120
        items.append(
            f'<rect class="{series.name}" x="{x}" y="{TOP - 30}" width="10" height="10"'
            f' fill="{series.colour}"/>'
            f'<text x="{x + 14}" y="{TOP - 21}" fill="#2b2f36">'
            f"{_text(words.gettext(series.label))}</text>"
        )
    return [f'<g class="legend">{"".join(items)}</g>']


def _bars(
    amounts: dict[date, tuple[int, int, int]],
    first: date,
    span: int,
    top: int,
    cur: Currency,
    words: Words,
) -> list[str]:
    slot = _slot(span)
    width = slot * 0.8 / len(SERIES)
    groups: list[list[str]] = [[] for _ in SERIES]
    for day, values in sorted(amounts.items()):
        x0 = LEFT + (day - first).days * slot + slot * 0.1
        for index, (series, value) in enumerate(zip(SERIES, values, strict=True)):
            y = _y(value, top)
            tip = words.gettext(
                "%(day)s: %(series)s %(amount)s",
                day=words.day(day), series=words.gettext(series.label),
                amount=words.money(Money(value, cur)),
            )  # fmt: skip
            groups[index].append(
                f'<rect x="{x0 + index * width:.2f}" y="{y:.2f}" width="{width:.2f}"'
                f' height="{TOP + PLOT_H - y:.2f}"><title>{_text(tip)}</title></rect>'
            )
    return [
        f'<g class="{series.name}" fill="{series.colour}">{"".join(bars)}</g>'
        for series, bars in zip(SERIES, groups, strict=True)
    ]


def _lines(
    amounts: dict[date, tuple[int, int, int]], first: date, span: int, top: int
) -> list[str]:
    slot = _slot(span)
    lines = []
    for index, series in enumerate(SERIES):
        points = " ".join(
            f"{LEFT + (offset + 0.5) * slot:.1f},"
            f"{_y(amounts.get(first + timedelta(days=offset), (0, 0, 0))[index], top):.1f}"
            for offset in range(span)
        )
        lines.append(
            f'<polyline class="{series.name}" points="{points}" fill="none"'
            f' stroke="{series.colour}" stroke-width="1.5" stroke-linejoin="round"/>'
        )
    return lines


def _description(amounts: dict[date, tuple[int, int, int]], cur: Currency, words: Words) -> str:
    sums = [sum(values[i] for values in amounts.values()) for i in range(len(SERIES))]
    busiest = max(sorted(amounts), key=lambda day: amounts[day][0])
    figures = ", ".join(
        f"{words.gettext(series.label)} {words.money(Money(total, cur))}"
        for series, total in zip(SERIES, sums, strict=True)
    )
    return words.ngettext(
        "Over %(num)d day with payments: %(figures)s. The most was paid on %(day)s: %(amount)s.",
        "Over %(num)d days with payments: %(figures)s. The most was paid on %(day)s: %(amount)s.",
        len(amounts),
        figures=figures,
        day=words.day(busiest),
        amount=words.money(Money(amounts[busiest][0], cur)),
    )


def _empty(ident: str, currency: Currency, words: Words) -> str:
    message = words.gettext("No payments in this period")
    text = (
        f'<text x="12" y="28" fill="#4a4f57">{_text(message)}</text>'
        f'<rect class="frame" x="0.5" y="0.5" width="319" height="47" fill="none"'
        ' stroke="#c8ccd2"/>'
    )
    title = words.gettext("Daily turnover in %(currency)s", currency=currency.code)
    return _svg(ident, 320, 48, title, f"{message}.", [text])


def _svg(ident: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    ident = _text(ident)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="turnover-chart" role="img"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-labelledby="{ident}-title {ident}-desc"'
        ' font-family="system-ui, sans-serif" font-size="11">'
        f'<title id="{ident}-title">{_text(title)}</title>'
        f'<desc id="{ident}-desc">{_text(desc)}</desc>'
        f"{''.join(body)}</svg>"
    )


def _text(value: str) -> str:
    return escape(value, quote=True)
