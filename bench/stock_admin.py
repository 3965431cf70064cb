"""The baselines the review queue is measured against: what a team would start from.

`stock_site` serves the same queue list (the same columns, filters, search, order and page
size, opening on open requests) from a plain ModelAdmin on Django's defaults, with none of the
queue's tuning: no list_select_related (so each row fetches its lead, category, pro, profile
and market on its own), every column of each table loaded, the admin's generic row renderer,
and an exact count of every request for the "N total" link.

`bare_site` is the bare registration, `admin.site.register(RefundRequest)`: one column (the
request's name), newest first, every state. It shows much less than the queue; it is printed
for reference only.
"""

from django.contrib import admin

from refunds.admin import RefundRequestAdmin
from refunds.models import RefundRequest

QUEUE = RefundRequestAdmin


class StockQueueAdmin(admin.ModelAdmin):
    list_display = QUEUE.list_display
    list_display_links = QUEUE.list_display_links
    list_filter = QUEUE.list_filter
    search_fields = QUEUE.search_fields
    ordering = QUEUE.ordering
    list_per_page = QUEUE.list_per_page
    # The same cells, written the same way.
    time_left = QUEUE.time_left
    state = QUEUE.state
    reason_short = QUEUE.reason_short
    customer = QUEUE.customer
    pro_name = QUEUE.pro_name
    lead_age = QUEUE.lead_age
    contact_effort = QUEUE.contact_effort
    refund_rate = QUEUE.refund_rate
    # Django's own template: the project's override for this model is part of what is measured.
    change_list_template = "admin/change_list.html"


class BareAdmin(admin.ModelAdmin):
    change_list_template = "admin/change_list.html"


stock_site = admin.AdminSite(name="stock_admin")
stock_site.register(RefundRequest, StockQueueAdmin)
bare_site = admin.AdminSite(name="bare_admin")
bare_site.register(RefundRequest, BareAdmin)
