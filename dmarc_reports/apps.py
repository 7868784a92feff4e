from django.apps import AppConfig


class DmarcReportsConfig(AppConfig):
    """Nothing is imported for its side effects at start-up: the mailbox admin is registered by
    ``dmarc_reports/admin.py`` (the admin's autodiscovery), the ``[[mailbox]]`` inventory section is named
    in ``monitor/inventory.py`` and the polling schedule in ``monitor/schedules.py``."""

    name = "dmarc_reports"
    verbose_name = "DMARC and TLS reports"
