from django.apps import AppConfig


class DmarcReportsConfig(AppConfig):
    name = "dmarc_reports"
    verbose_name = "DMARC and TLS reports"

    def ready(self):
        from dmarc_reports import mailbox_fetch, mailbox_inventory  # noqa: F401  (schedule, [[mailbox]])
