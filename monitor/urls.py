from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from monitor import views

# Every app's admin module registers its models here rather than at start-up (monitor/admin_app.py).
admin.autodiscover()

urlpatterns = [
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("monitor.urls_dashboards")),
    path("alerts/", include("monitor.alerts.urls")),
    path("", include("monitor.blocklists.urls")),  # blocklist page, "Run now" for audits
    path("", include("dmarc_reports.urls_delivery")),  # mailboxes, TLS reports over HTTPS
    path("", include("dmarc_reports.urls")),  # uploading report files
    path("", include("monitor.urls_dns")),  # DNS audit verdicts, history and record diffs
]
