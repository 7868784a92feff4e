from django.core.management.base import BaseCommand, CommandError

from monitor.alerts.digest import send_digests
from monitor.models import Organization


class Command(BaseCommand):
    help = "Send the weekly digest to the members who asked for it (the schedule does this on Mondays)."

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organisation.")

    def handle(self, *args, org=None, **options):
        if org and not Organization.objects.filter(slug=org).exists():
            raise CommandError(f"No organisation {org!r}.")
        self.stdout.write(send_digests(org))
