from django.urls import path

from monitor import views_alerts

urlpatterns = [
    path("", views_alerts.alert_list, name="alerts"),
    path("<int:pk>/", views_alerts.alert_detail, name="alert"),
    path("subscriptions/", views_alerts.subscriptions, name="alert_subscriptions"),
    path("settings/<slug:slug>/", views_alerts.org_settings, name="alert_org_settings"),
]
