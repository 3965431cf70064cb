from django import template

from leads.contact import display_phone

register = template.Library()


@register.filter
def phone(stored: str) -> str:
    """{{ lead.customer_phone|phone }}: +15125550142 shown as +1 512-555-0142."""
    return display_phone(stored or "")
