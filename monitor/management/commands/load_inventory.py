from django.core.management.base import BaseCommand, CommandError

from monitor.inventory import InventoryError, load_inventory


class Command(BaseCommand):
    help = "Create or update organisations, members, pools, blocklists and mailboxes from a TOML file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the inventory file (TOML)")

    def handle(self, *args, **options):
        try:
            changes = load_inventory(options["file"])
        except InventoryError as exc:
            raise CommandError(f"{exc}\nNothing was changed.") from None
        for change in changes:
            self.stdout.write(change)
        self.stdout.write(self.style.SUCCESS(f"{options['file']}: {len(changes)} change(s) applied."))
