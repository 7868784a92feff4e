from django.core.management.base import BaseCommand

from monitor.alerts.deliver import deliver_pending
from monitor.models import Notification


class Command(BaseCommand):
    help = "Deliver the pending alert notifications that are due, once (the worker does this every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Try every pending notification now, ignoring back-off.")

    def handle(self, *args, force=False, **options):
        tried = deliver_pending(force=force)
        pending = Notification.objects.filter(status=Notification.PENDING).count()
        failed = Notification.objects.filter(status=Notification.FAILED).count()
        self.stdout.write(f"{tried} notification(s) tried; {pending} pending, {failed} failed in all.")
