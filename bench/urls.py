"""The project's URLs plus the stock admin, for the benchmark only."""

from django.urls import path

from bench.stock_admin import site
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("stock-admin/", site.urls), *project_urlpatterns]
