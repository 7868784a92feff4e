"""The alert schedules (named in ``monitor.schedules.GLOBAL``)."""

from django.conf import settings

DIGEST_CRON = "0 7 * * 1"  # Mondays, 07:00 (TIME_ZONE)
EVALUATE_CRON = "17 * * * *"  # hourly: report alerts, failed or stalled audits, catch-up of missed hand-overs


def alert_schedules():
    yield "alerts:deliver", "monitor.alerts.deliver.deliver_pending", "* * * * *", {}
    yield ("alerts:evaluate", "monitor.alerts.evaluate.evaluate_all",
           getattr(settings, "ALERT_EVALUATE_CRON", EVALUATE_CRON), {})
    yield "alerts:weekly-digest", "monitor.alerts.digest.send_digests", getattr(settings, "DIGEST_CRON", DIGEST_CRON), {}

