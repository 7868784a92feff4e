from django.urls import path

from dmarc_reports import views

urlpatterns = [
    path("reports/upload/", views.upload, name="reports_upload"),
]
