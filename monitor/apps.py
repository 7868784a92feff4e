from django.apps import AppConfig


class MonitorConfig(AppConfig):
    name = "monitor"
    verbose_name = "Reputation monitor"

    def ready(self):
        from monitor import checks  # noqa: F401  (registers the system checks)
