from django.urls import path

from monitor import views_dns

urlpatterns = [
    path("dns/", views_dns.dns_index, name="dns_index"),
    path("dns/<slug:slug>/", views_dns.dns_audit, name="dns_audit"),
    path("dns/<slug:slug>/history/", views_dns.dns_history, name="dns_history"),
]
