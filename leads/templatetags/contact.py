from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from leads.contact import display_phone

register = template.Library()


@register.filter
def phone(stored: str, region: str = "") -> SafeString | str:
    """{{ lead.customer_phone|phone:market.country_code }}: +15125550142 in a US market shows
    as (512) 555-0142, with the stored E.164 form in the title. A number that is not valid
    shows as it was sent."""
    stored = stored or ""
    shown = display_phone(stored, region)
    if not stored.startswith("+") or shown == stored:
        return shown
    return format_html('<span class="text-nowrap" title="{}">{}</span>', stored, shown)
