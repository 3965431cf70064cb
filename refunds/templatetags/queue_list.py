"""The review queue's rows, rendered directly from the queue's display methods.

The admin's generic row builder (items_for_result) looks up, labels and formats every cell
through several layers; for a queue reviewers reload all day it cost most of the page's time.
This renders the same table (same headers, checkbox, link and cells) in one pass.
"""

from django import template
from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.utils.html import format_html

register = template.Library()


@register.inclusion_tag("admin/change_list_results.html")
def queue_result_list(cl) -> dict:
    headers = list(result_headers(cl))
    model_admin = cl.model_admin
    columns = [name for name in cl.list_display if name != "action_checkbox"]
    link_column = next(iter(cl.list_display_links or columns))
    cells = [(name, getattr(model_admin, name)) for name in columns]
    rows = []
    for obj in cl.result_list:
        url = add_preserved_filters(
            {"preserved_filters": cl.preserved_filters, "opts": cl.opts}, cl.url_for_result(obj)
        )
        row = [
            format_html(
                '<td class="action-checkbox"><input type="checkbox" name="_selected_action" '
                'value="{}" class="action-select" aria-label="Select this object for an '
                'action - {}"></td>',
                obj.pk,
                obj,
            )
        ]
        for name, display in cells:
            if name == link_column:
                row.append(
                    format_html(
                        '<th class="field-{}"><a href="{}">{}</a></th>', name, url, display(obj)
                    )
                )
            else:
                row.append(format_html('<td class="field-{}">{}</td>', name, display(obj)))
        rows.append(row)
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }
