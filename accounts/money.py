"""Money written one way everywhere: the currency sign, thousands grouped, two decimals.

Pages (the `money` and `money_change` filters, accounts/templatetags/money.py), notices,
emails and the analytics tables all go through `money()`. Amounts are written in their market's
currency (`Market.currency`); every market today is in the United States, so that is USD.
"""

from __future__ import annotations

from decimal import Decimal

# The currency of every market, by the market's country (Market.country_code). The market form
# refuses a country missing here (Market.clean): add it, and a new currency's sign, first.
CURRENCY_OF_COUNTRY = {"US": "USD"}
SIGNS = {"USD": "$"}
DEFAULT_CURRENCY = "USD"

# A real minus sign, which screen readers say and which lines up with the plus sign.
MINUS = "\u2212"


def currency_of_country(country_code: str) -> str:
    return CURRENCY_OF_COUNTRY.get((country_code or "").upper(), DEFAULT_CURRENCY)


def money(value: Decimal | int | str | None, currency: str = DEFAULT_CURRENCY) -> str:
    """$1,234.50; −$3.00 for a negative amount; $0.00 for none."""
    amount = Decimal(value or 0).quantize(Decimal("0.01"))
    currency = currency or DEFAULT_CURRENCY  # a record without a market: the default's
    sign = SIGNS.get(currency, f"{currency}\u00a0")
    text = f"{sign}{abs(amount):,.2f}"
    return f"{MINUS}{text}" if amount < 0 else text


def money_change(value: Decimal | int | str | None, currency: str = DEFAULT_CURRENCY) -> str:
    """A movement of a balance, always signed: +$24.50, −$3.00."""
    text = money(value, currency)
    return text if text.startswith(MINUS) else f"+{text}"
