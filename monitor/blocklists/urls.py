from django.urls import path

from monitor import views_blocklists

urlpatterns = [
    path("blocklists/<slug:slug>/", views_blocklists.blocklists, name="blocklists"),
    path("audits/<slug:slug>/run/<str:kind>/", views_blocklists.run_audit, name="run_audit"),
]
