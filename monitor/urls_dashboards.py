"""The dashboards (signed-in members) and the read-only JSON API (organisation token)."""

from django.urls import path

from monitor import api, views_dashboards as views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("dash/domains/<str:domain>/", views.domain, name="dash_domain"),
    path("dash/domains/<str:domain>/addresses/", views.domain_addresses, name="dash_domain_addresses"),
    path("dash/sources/<str:source>/", views.source, name="dash_source"),
    path("dash/reports/", views.reports, name="dash_reports"),
    path("dash/reports/<int:pk>/", views.report, name="dash_report"),
    path("dash/files/<int:pk>/raw/", views.file_raw, name="dash_file_raw"),
    path("dash/tls/", views.tls, name="dash_tls"),
    path("dash/blocklists/", views.blocklists, name="dash_blocklists"),
    path("dash/dns/", views.dns, name="dash_dns"),
    path("dash/alerts/", views.alerts, name="dash_alerts"),
    path("dash/api/", views.api_tokens, name="dash_api"),
    path("dash/api/<slug:slug>/rotate/", views.api_token_rotate, name="dash_api_rotate"),
    path("api/v1/", api.index, name="api_index"),
    path("api/v1/overview/", api.overview, name="api_overview"),
    path("api/v1/domains/<str:domain>/", api.domain, name="api_domain"),
    path("api/v1/domains/<str:domain>/addresses/", api.domain_addresses, name="api_domain_addresses"),
    path("api/v1/sources/<str:source>/", api.source, name="api_source"),
    path("api/v1/reports/", api.reports, name="api_reports"),
    path("api/v1/reports/<int:pk>/", api.report, name="api_report"),
    path("api/v1/tls/", api.tls, name="api_tls"),
    path("api/v1/blocklists/", api.blocklists, name="api_blocklists"),
    path("api/v1/dns/", api.dns, name="api_dns"),
    path("api/v1/alerts/", api.alerts, name="api_alerts"),
]
