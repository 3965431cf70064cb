"""Money on every page one way (accounts/money.py). Loaded as a builtin (settings.TEMPLATES):
    {{ lead.price|money }}          $24.50
    {{ entry.amount|money_change }} +$24.50, −$3.00
An amount in another market's currency names it: {{ amount|money:market.currency }}.
"""

from __future__ import annotations

from django import template

from accounts import money as formats

register = template.Library()


@register.filter
def money(value, currency: str = formats.DEFAULT_CURRENCY) -> str:
    if value is None or value == "":
        return ""
    return formats.money(value, currency)


@register.filter
def money_change(value, currency: str = formats.DEFAULT_CURRENCY) -> str:
    if value is None or value == "":
        return ""
    return formats.money_change(value, currency)
