from django.apps import AppConfig


class DmarcReportsConfig(AppConfig):
    name = "dmarc_reports"
    verbose_name = "DMARC and TLS reports"
