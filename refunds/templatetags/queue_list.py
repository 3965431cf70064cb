"""The review queue's rows, rendered directly from the queue's display methods.

The admin's generic row builder (items_for_result) looks up, labels and formats every cell
through several layers, and its template then renders each cell on its own; for a queue
reviewers reload all day that was most of the page's time. This builds each row (the same
checkbox, link and cells) as one string, which the admin's results template prints whole.
"""

from django import template
from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.safestring import SafeString

from refunds.admin.display import html

register = template.Library()
PK = "__pk__"


@register.inclusion_tag("admin/change_list_results.html")
def queue_result_list(cl) -> dict:
    headers = list(result_headers(cl))
    model_admin = cl.model_admin
    columns = [name for name in cl.list_display if name != "action_checkbox"]
    link_column = next(iter(cl.list_display_links or columns))
    cells = [(name, getattr(model_admin, name)) for name in columns]
    # Every row links to its request page, keeping the queue's filters for the way back.
    # (cl.preserved_filters is already the encoded "_changelist_filters=..." parameter.)
    opts = cl.opts
    change_url = reverse(
        f"admin:{opts.app_label}_{opts.model_name}_change",
        args=(PK,),
        current_app=model_admin.admin_site.name,
    )
    if cl.preserved_filters:
        change_url += f"?{cl.preserved_filters}"
    rows = []
    for obj in cl.result_list:
        url = change_url.replace(PK, quote(str(obj.pk)))
        parts = [
            html(
                '<td class="action-checkbox"><input type="checkbox" name="_selected_action" '
                'value="{}" class="action-select" aria-label="Select request #{}"></td>',
                obj.pk,
                obj.pk,
            )
        ]
        for name, display in cells:
            if name == link_column:
                parts.append(
                    html('<th class="field-{}"><a href="{}">{}</a></th>', name, url, display(obj))
                )
            else:
                parts.append(html('<td class="field-{}">{}</td>', name, display(obj)))
        rows.append([SafeString("".join(parts))])
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }
