"""The daily turnover chart: a well-formed, accessible, self-contained SVG that the Personal
Account's Content-Security-Policy lets through, drawn to scale, in the page's language."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from ips.domain.money import Currency, Money, currency
from ips.services.monitor import TurnoverDay
from ips.web.cabinet.chart import MAX_BARS_DAYS, PLOT_H, PLOT_W, turnover_svg
from ips.web.i18n import RU as RUSSIAN
from ips.web.i18n import Words

SVG = "{http://www.w3.org/2000/svg}"
RUB, USD = currency("RUB"), currency("USD")


def day(on: date, cur: Currency, paid: int, confirmed: int, cancelled: int) -> TurnoverDay:
    return TurnoverDay(on, cur, Money(paid, cur), Money(confirmed, cur), Money(cancelled, cur))


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element, series: str) -> list[ET.Element]:
    group = root.find(f"{SVG}g[@class='{series}']")
    assert group is not None, series
    return group.findall(f"{SVG}rect")


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


WEEK = [
    day(date(2026, 11, 2), RUB, 150000, 120000, 30000),
    day(date(2026, 11, 3), USD, 999999, 999999, 0),
    day(date(2026, 11, 5), RUB, 50000, 50000, 0),
    day(date(2026, 11, 8), RUB, 300000, 100000, 25050),
]


def test_the_chart_is_an_accessible_image() -> None:
    root = parse(turnover_svg(WEEK, RUB))
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Daily turnover in RUB, 2 Nov 2026 to 8 Nov 2026"
    assert desc.text is not None
    assert desc.text.startswith("Over 3 days with payments: ")
    nbsp = "\u00a0"
    assert f"paid 5,000.00{nbsp}RUB, confirmed 2,700.00{nbsp}RUB, cancelled 550.50{nbsp}RUB" in (
        desc.text
    )
    assert f"8 Nov 2026: 3,000.00{nbsp}RUB" in desc.text


def test_the_chart_speaks_the_page_s_language() -> None:
    root = parse(turnover_svg(WEEK, RUB, Words(RUSSIAN)))
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and desc.text is not None
    assert title.text == "Оборот по дням в RUB с 02.11.2026 по 08.11.2026"
    nbsp = "\u00a0"
    assert desc.text.startswith("За 3 дня с платежами: ")
    assert f"оплачено 5{nbsp}000,00{nbsp}RUB, подтверждено 2{nbsp}700,00{nbsp}RUB" in desc.text
    labels = texts(root)
    assert {"оплачено", "подтверждено", "отменено"} <= set(labels)
    assert {"0,00", f"1{nbsp}000,00", f"3{nbsp}000,00"} <= set(labels)
    assert "2 нояб." in labels
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert f"02.11.2026: оплачено 1{nbsp}500,00{nbsp}RUB" in tips
    empty = parse(turnover_svg([], RUB, Words(RUSSIAN)))
    assert "За этот период платежей нет" in texts(empty)


def test_the_chart_has_nothing_the_csp_forbids() -> None:
    for svg in (turnover_svg(WEEK, RUB), turnover_svg([], RUB), long_period()):
        root = parse(svg)
        tags = {element.tag.removeprefix(SVG) for element in root.iter()}
        assert tags <= {"svg", "title", "desc", "g", "rect", "line", "text", "polyline"}
        for element in root.iter():
            names = {name.rsplit("}", 1)[-1] for name in element.attrib}
            assert not names & {"style", "href", "src"}, element.tag
            assert not any(name.startswith("on") for name in names), element.tag
        assert "url(" not in svg
        assert re.findall(r"https?://[^\"']*", svg) == ["http://www.w3.org/2000/svg"]


def test_one_bar_per_day_and_series_in_the_chosen_currency_only() -> None:
    root = parse(turnover_svg(WEEK, RUB))
    for series in ("paid", "confirmed", "cancelled"):
        assert len(bars(root, series)) == 3
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert "2 Nov 2026: paid 1,500.00\u00a0RUB" in tips
    assert "8 Nov 2026: cancelled 250.50\u00a0RUB" in tips
    assert not any("9,999.99" in (tip or "") for tip in tips)


def test_bars_are_drawn_to_scale() -> None:
    root = parse(turnover_svg(WEEK, RUB))
    paid = [float(bar.get("height", "")) for bar in bars(root, "paid")]
    assert paid[0] / paid[2] == pytest.approx(150000 / 300000, rel=1e-3)
    assert paid[1] / paid[2] == pytest.approx(50000 / 300000, rel=1e-3)
    assert paid[2] <= PLOT_H
    lows = [float(bar.get("x", "")) for bar in bars(root, "paid")]
    assert lows == sorted(lows)
    slot = PLOT_W / 7  # 2 to 8 November, the days without payments included
    assert lows[1] - lows[0] == pytest.approx(3 * slot, abs=0.02)
    assert lows[2] - lows[1] == pytest.approx(3 * slot, abs=0.02)


def test_the_axis_shows_amounts_with_the_currencys_exponent() -> None:
    labels = texts(parse(turnover_svg(WEEK, RUB)))
    assert {"0.00", "1,000.00", "2,000.00", "3,000.00"} <= set(labels)
    yen = currency("JPY")
    labels = texts(parse(turnover_svg([day(date(2026, 1, 1), yen, 45000, 0, 0)], yen)))
    assert {"0", "20,000", "40,000", "60,000"} <= set(labels)
    assert not any("." in label for label in labels if label[:1].isdigit())
    dinar = currency("BHD")
    labels = texts(parse(turnover_svg([day(date(2026, 1, 1), dinar, 7, 5, 1)], dinar)))
    assert "0.007" in labels or "0.008" in labels


def test_a_long_period_is_drawn_as_lines_over_every_day() -> None:
    root = parse(long_period())
    lines = {line.get("class"): line for line in root.iter(f"{SVG}polyline")}
    assert set(lines) == {"paid", "confirmed", "cancelled"}
    points = (lines["paid"].get("points") or "").split()
    assert len(points) == 365
    assert not root.findall(f".//{SVG}g[@class='paid']/{SVG}rect")


def long_period() -> str:
    first = date(2026, 1, 1)
    days = [day(first + timedelta(days=n), RUB, 1000 + n, 900, n % 7) for n in range(0, 365, 3)]
    days.append(day(date(2026, 12, 31), RUB, 5, 5, 0))
    assert (days[-1].day - first).days + 1 > MAX_BARS_DAYS
    return turnover_svg(days, RUB)


def test_no_payments_make_a_small_chart_that_says_so() -> None:
    for days in ([], [day(date(2026, 11, 3), USD, 100, 100, 0)]):
        root = parse(turnover_svg(days, RUB))
        assert root.get("role") == "img"
        assert "No payments in this period" in texts(root)
        assert root.find(f"{SVG}title") is not None


def test_everything_shown_is_escaped() -> None:
    odd = Currency('<script>"&', "999", 2)
    svg = turnover_svg([day(date(2026, 11, 3), odd, 100, 50, 0)], odd)
    root = parse(svg)
    assert "<script" not in svg
    assert not list(root.iter(f"{SVG}script"))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert '<script>"&' in title.text
    parse(turnover_svg([], odd))
