from django.core.management.base import BaseCommand

from monitor.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo organisation with pools and months of report and audit history (idempotent)."

    def handle(self, *args, **options):
        for line in load_demo():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
