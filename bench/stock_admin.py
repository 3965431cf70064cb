"""The baseline: the refund-request list as a stock ModelAdmin serves it, with no tuning."""

from django.contrib import admin

from refunds.models import RefundRequest


class StockAdmin(admin.ModelAdmin):
    # Django's own template: the project's override for this model is part of what is measured.
    change_list_template = "admin/change_list.html"


site = admin.AdminSite(name="stock_admin")
site.register(RefundRequest, StockAdmin)
