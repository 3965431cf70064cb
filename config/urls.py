from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as account_views
from accounts.forms import AdminLoginForm, LoginForm
from integrations.api import api as integrations_api
from refunds.admin import home as staff_home

admin.site.site_header = "Lead refunds — back office"
admin.site.site_title = "Lead refunds"
admin.site.index_title = "Review and support"
# Both sign-in pages count failures (accounts.forms.LoginThrottle).
admin.site.login_form = AdminLoginForm
# The admin's index is the staff home: the work's live counts above the model list.
staff_home.install(admin.site)

urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/analytics/", include("refunds.admin.analytics")),
    path("admin/", admin.site.urls),
    path("api/v1/", integrations_api.urls),
    # /health/live, /health/ready and /metrics (a contract with the load balancer and Prometheus)
    path("", include("ops.urls")),
    path("", include("accounts.urls")),
    path("", include("leads.urls")),
    path("", include("refunds.urls")),
]
