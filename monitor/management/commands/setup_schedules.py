from django.core.management.base import BaseCommand

from monitor.schedules import sync_schedules


class Command(BaseCommand):
    help = "Register (idempotently) the django-q2 schedules: audits, mailbox polling, alert delivery."

    def handle(self, *args, **options):
        kept, deleted = sync_schedules()
        self.stdout.write(f"{kept} schedule(s) registered, {deleted} stale removed.")
