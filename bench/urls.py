"""The project's URLs plus the baseline admins, for the benchmark only."""

from django.urls import path

from bench.stock_admin import bare_site, stock_site
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("stock-admin/", stock_site.urls),
    path("bare-admin/", bare_site.urls),
    *project_urlpatterns,
]
