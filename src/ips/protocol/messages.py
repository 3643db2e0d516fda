"""The texts of the response codes in the languages of the protocol (``Language`` RU/EN):
``message`` for the shop, ``customermessage`` and ``recommendation`` for the buyer."""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.orders import Language
from ips.domain.responses import ResponseCode


@dataclass(frozen=True)
class Texts:
    message: str
    customer_message: str
    recommendation: str


_RUSSIAN: dict[ResponseCode, Texts] = {
    ResponseCode.SUCCESS: Texts("Операция выполнена", "Операция выполнена успешно.", ""),
    ResponseCode.DECLINED: Texts(
        "Авторизация отклонена",
        "Банк, выпустивший карту, отклонил платёж.",
        "Оплатите другой картой или обратитесь в свой банк.",
    ),
    ResponseCode.WRONG_CARD_DATA: Texts(
        "Неверные параметры карты",
        "Данные карты указаны неверно.",
        "Проверьте номер карты, срок действия и CVC и повторите попытку.",
    ),
    ResponseCode.INSUFFICIENT_FUNDS: Texts(
        "Недостаточно средств",
        "На карте недостаточно средств.",
        "Оплатите другой картой или пополните эту.",
    ),
    ResponseCode.WRONG_EXPIRY: Texts(
        "Неверный срок действия карты",
        "Срок действия карты истёк или указан неверно.",
        "Проверьте срок действия или оплатите другой картой.",
    ),
    ResponseCode.CARD_LIMIT: Texts(
        "Превышен лимит карты",
        "Лимит карты не позволяет провести этот платёж.",
        "Оплатите другой картой или попросите банк увеличить лимит.",
    ),
    ResponseCode.RECEPTION_ERROR: Texts(
        "Ошибка приёма данных",
        "Данные платежа дошли до банка с ошибками.",
        "Повторите попытку через несколько минут.",
    ),
    ResponseCode.SUSPECTED_FRAUD: Texts(
        "Подозрение на мошенничество",
        "Банк остановил платёж, чтобы защитить вашу карту.",
        "Позвоните в свой банк или оплатите другой картой.",
    ),
    ResponseCode.OPERATIONS_LIMIT: Texts(
        "Превышен лимит операций",
        "По этой карте проведено слишком много платежей.",
        "Оплатите другой картой или повторите попытку завтра.",
    ),
    ResponseCode.THREE_DS_REQUIRED: Texts(
        "Требуется аутентификация 3-D Secure",
        "Банк не подтвердил владельца карты.",
        "Повторите попытку и введите код, который пришлёт банк.",
    ),
    ResponseCode.REPEAT_AUTHORIZATION: Texts(
        "Повторная авторизация", "Этот платёж уже проведён.", ""
    ),
    ResponseCode.IN_PROCESS: Texts(
        "Операция в процессе",
        "Платёж обрабатывается.",
        "Подождите немного, страница обновится.",
    ),
    ResponseCode.NO_SUCH_PAYMENT: Texts(
        "Нет платежа с такими параметрами", "Платёж не найден.", ""
    ),
    ResponseCode.SYSTEM_ERROR: Texts(
        "Системная ошибка",
        "Банк не подтвердил платёж вовремя; платёж не проведён. "
        "Заблокированная на карте сумма будет освобождена.",
        "Повторите попытку через несколько минут.",
    ),
}


def texts(code: ResponseCode, language: Language | None) -> Texts:
    """The messages of ``code`` in ``language``; Russian, as Assist, when none was asked for."""
    if language in (Language.RU, None):
        return _RUSSIAN[code]
    return Texts(code.message, code.customer_message, code.recommendation)
