from django.apps import AppConfig


class DmarcReportsConfig(AppConfig):
    name = "dmarc_reports"
    verbose_name = "DMARC and TLS reports"

    def ready(self):
        from dmarc_reports import admin_mailbox, mailbox_fetch, mailbox_inventory  # noqa: F401  (admin, schedule, [[mailbox]])
