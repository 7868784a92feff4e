"""The alert schedules (named in ``monitor.schedules.GLOBAL``)."""

from django.conf import settings



def alert_schedules():
    yield "alerts:deliver", "monitor.alerts.deliver.deliver_pending", "* * * * *", {}
    yield ("alerts:evaluate", "monitor.alerts.evaluate.evaluate_all",
           settings.ALERT_EVALUATE_CRON, {})
    yield "alerts:weekly-digest", "monitor.alerts.digest.send_digests", settings.DIGEST_CRON, {}

