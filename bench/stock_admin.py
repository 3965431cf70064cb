"""The baseline: the refund-request list as a stock ModelAdmin serves it, with no tuning."""

from django.contrib import admin

from refunds.models import RefundRequest

site = admin.AdminSite(name="stock_admin")
site.register(RefundRequest, admin.ModelAdmin)
