"""The payment pages in Russian and English: every text, and amounts and dates as each
language writes them.

The language is the one the shop asked for (``Language``), else the one the buyer's browser
prefers (``Accept-Language``), else Russian, as Assist's pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ips.domain.money import Money
from ips.domain.orders import Language

RU, EN = Language.RU, Language.EN

TEXTS: Mapping[str, Mapping[Language, str]] = {
    "title.pay": {EN: "Payment", RU: "Оплата"},
    "order": {EN: "Order {number}", RU: "Заказ {number}"},
    "secure": {EN: "Secure payment by IPS", RU: "Безопасная оплата через IPS"},
    "choose": {EN: "How would you like to pay?", RU: "Как вы хотите оплатить?"},
    "means.card": {EN: "Bank card", RU: "Банковская карта"},
    "means.card.hint": {
        EN: "VISA, MasterCard, Mir and others",
        RU: "VISA, MasterCard, «Мир» и другие",
    },
    "means.wallet": {EN: "Demo Wallet", RU: "Кошелёк Demo Wallet"},
    "means.wallet.hint": {
        EN: "Pay from your e-wallet",
        RU: "Оплата из электронного кошелька",
    },
    "other_means": {EN: "Another way to pay", RU: "Другой способ оплаты"},
    "card.title": {EN: "Pay by card", RU: "Оплата картой"},
    "card.number": {EN: "Card number", RU: "Номер карты"},
    "card.month": {EN: "Month", RU: "Месяц"},
    "card.year": {EN: "Year", RU: "Год"},
    "card.expiry": {EN: "Valid thru", RU: "Срок действия"},
    "card.cvc": {EN: "CVC", RU: "CVC"},
    "card.cvc.hint": {
        EN: "3 digits on the back of the card",
        RU: "3 цифры на обороте карты",
    },
    "card.holder": {EN: "Cardholder (as on the card)", RU: "Владелец (как на карте)"},
    "kept.title": {EN: "Your saved cards", RU: "Сохранённые карты"},
    "kept.cvc": {
        EN: "CVC of the card ending {last4}",
        RU: "CVC карты, оканчивающейся на {last4}",
    },
    "kept.remove": {
        EN: "Remove the card ending {last4}",
        RU: "Удалить карту, оканчивающуюся на {last4}",
    },
    "kept.new": {EN: "Or pay with another card", RU: "Или оплатите другой картой"},
    "kept.keep": {
        EN: "Keep this card for my next payments in {shop}",
        RU: "Сохранить карту для следующих оплат в {shop}",
    },
    "points.title": {EN: "Pay part with bonus points", RU: "Оплатить часть бонусными баллами"},
    "points.offer": {
        EN: "Up to {most} points, {point} each; the card or the wallet pays the rest.",
        RU: "До {most} баллов, {point} за балл; остальное — картой или кошельком.",
    },
    "points.collect": {EN: "Collect bonus points", RU: "Копите бонусные баллы"},
    "points.accrual": {
        EN: "{percent}% of a card payment comes back to your points account.",
        RU: "{percent}% оплаты картой вернётся баллами на ваш бонусный счёт.",
    },
    "points.account": {EN: "Points account number", RU: "Номер бонусного счёта"},
    "points.pin": {EN: "PIN of the points account", RU: "PIN бонусного счёта"},
    "points.count": {EN: "Points to use", RU: "Сколько баллов списать"},
    "points.refused.AS101": {
        EN: "The points account number or its PIN is wrong.",
        RU: "Неверный номер бонусного счёта или PIN.",
    },
    "points.refused.AS102": {
        EN: "The points account holds too few points.",
        RU: "На бонусном счёте недостаточно баллов.",
    },
    "points.refused.AS100": {
        EN: "The points program refused: the account is blocked or locked for a while.",
        RU: "Бонусная программа отказала: счёт заблокирован или временно закрыт.",
    },
    "points.refused.AS998": {
        EN: "The points program did not answer.",
        RU: "Бонусная программа не ответила.",
    },
    "points.next": {
        EN: "Pay again, with other points or without them.",
        RU: "Оплатите ещё раз — другими баллами или без них.",
    },
    "buyer.title": {EN: "Your details", RU: "Ваши данные"},
    "buyer.email": {EN: "E-mail", RU: "Электронная почта"},
    "buyer.firstname": {EN: "First name", RU: "Имя"},
    "buyer.lastname": {EN: "Last name", RU: "Фамилия"},
    "buyer.phone": {EN: "Mobile phone", RU: "Мобильный телефон"},
    "pay": {EN: "Pay {amount}", RU: "Оплатить {amount}"},
    "paying": {EN: "Paying…", RU: "Оплата…"},
    "wallet.title": {EN: "Pay with Demo Wallet", RU: "Оплата кошельком Demo Wallet"},
    "wallet.go": {EN: "Continue to Demo Wallet", RU: "Перейти в Demo Wallet"},
    "wallet.explain": {
        EN: "You will sign in to your wallet and confirm the payment there.",
        RU: "Вы войдёте в кошелёк и подтвердите платёж на его странице.",
    },
    "conversion": {
        EN: "{amount} at 1 {source} = {rate} {target}",
        RU: "{amount} по курсу 1 {source} = {rate} {target}",
    },
    "result.paid": {EN: "Payment accepted", RU: "Платёж принят"},
    "result.paid.text": {EN: "{amount} paid to {shop}.", RU: "{amount} оплачено: {shop}."},
    "result.cancelled": {EN: "Payment cancelled", RU: "Платёж отменён"},
    "result.cancelled.text": {
        EN: "{shop} cancelled this payment; the money goes back to you.",
        RU: "{shop} отменил платёж; деньги вернутся вам.",
    },
    "result.waiting": {EN: "Please wait", RU: "Пожалуйста, подождите"},
    "result.waiting.text": {
        EN: "The payment is being processed. This page updates by itself.",
        RU: "Платёж обрабатывается. Страница обновится сама.",
    },
    "result.unpaid": {EN: "Not paid yet", RU: "Ещё не оплачено"},
    "result.declined": {EN: "Payment declined", RU: "Платёж отклонён"},
    "result.expired": {EN: "Time is up", RU: "Время истекло"},
    "result.expired.text": {
        EN: "The time to pay this order has run out. Please place the order again in the shop.",
        RU: "Время на оплату заказа истекло. Оформите заказ в магазине ещё раз.",
    },
    "back": {EN: "Back to {shop}", RU: "Вернуться в {shop}"},
    "pay_now": {EN: "Pay now", RU: "Оплатить"},
    "pay_again": {EN: "Try again", RU: "Попробовать ещё раз"},
    "attempts_left": {
        EN: "Attempts left: {left}.",
        RU: "Осталось попыток: {left}.",
    },
    "error.title": {EN: "The payment cannot be made", RU: "Оплата невозможна"},
    "error.request": {
        EN: "The shop's payment request is not valid.",
        RU: "Запрос магазина на оплату содержит ошибку.",
    },
    "error.next": {
        EN: "Please return to the shop and try again, or contact the shop.",
        RU: "Вернитесь в магазин и попробуйте ещё раз или свяжитесь с магазином.",
    },
    "error.expired_form": {
        EN: "The page has expired. Please try again.",
        RU: "Страница устарела. Попробуйте ещё раз.",
    },
    "continue.title": {EN: "Finish the payment", RU: "Завершите оплату"},
    "continue.text": {
        EN: "You are back from your bank's page. Press Continue to finish the payment here.",
        RU: "Вы вернулись со страницы банка. Нажмите «Продолжить», чтобы завершить оплату.",
    },
    "continue.go": {EN: "Continue", RU: "Продолжить"},
    "error.currency": {
        EN: "Payments in {currency} are not possible at the moment.",
        RU: "Оплата в валюте {currency} сейчас невозможна.",
    },
    "js.number": {EN: "Check the card number.", RU: "Проверьте номер карты."},
    "js.expiry": {EN: "Check the expiry date.", RU: "Проверьте срок действия."},
    "js.cvc": {EN: "Enter the 3 digits of the CVC.", RU: "Введите 3 цифры CVC."},
    "language": {EN: "Русский", RU: "English"},
}


def text(key: str, language: Language, **values: object) -> str:
    return TEXTS[key][language].format(**values)


def preferred(accept_language: str) -> Language | None:
    """The buyer's browser's first choice of Russian or English, if it has one."""
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()[:2]))
    for _, _, tag in sorted(ranked):
        if tag in ("ru", "en"):
            return RU if tag == "ru" else EN
    return None


def amount(money: Money, language: Language) -> str:
    """``1,234.56 RUB`` in English, ``1 234,56 RUB`` in Russian (a no-break space)."""
    whole, _, fraction = money.format().partition(".")
    groups = f"{int(whole):,}"
    if language is RU:
        groups = groups.replace(",", "\u00a0")
        number = f"{groups},{fraction}" if fraction else groups
    else:
        number = f"{groups}.{fraction}" if fraction else groups
    return f"{number}\u00a0{money.currency.code}"


_MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def moment(value: datetime, language: Language) -> str:
    """``30.11.2026 05:41`` in Russian, ``30 Nov 2026, 05:41`` in English (GMT)."""
    if language is RU:
        return value.strftime("%d.%m.%Y %H:%M")
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}, {value:%H:%M}"
