import json

from django.core.management.base import BaseCommand, CommandError

from dmarc_reports.mailbox_fetch import fetch_mailbox
from dmarc_reports.models_mailbox import Mailbox
from monitor.models import Organization


class Command(BaseCommand):
    help = (
        "One pass over the IMAP mailboxes (all enabled ones, or one organisation's): import every message, "
        "then move it to the processed or rejected folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="only this organisation's mailboxes")
        parser.add_argument("--json", action="store_true", help="one JSON object per report found or message rejected")

    def handle(self, *args, **options):
        mailboxes = Mailbox.objects.filter(enabled=True).select_related("organization")
        if options["org"]:
            if not Organization.objects.filter(slug=options["org"]).exists():
                raise CommandError(f"No organisation {options['org']!r}.")
            mailboxes = mailboxes.filter(organization__slug=options["org"])
        as_json = options["json"]

        def show(line):
            if as_json:
                self.stdout.write(json.dumps(line, ensure_ascii=False))
            else:
                what = " ".join(str(line[key]) for key in ("kind", "domain", "report_id") if line.get(key))
                self.stdout.write(f"{line['file']}: {line['status']}" + (f" {what}" if what else "")
                                  + (f" ({line['error']})" if line.get("error") else ""))
            self.stdout.flush()

        failed = []
        for mailbox in mailboxes:
            result = fetch_mailbox(mailbox, on_line=show)
            if result.error:
                failed.append(f"{mailbox.label()}: {result.error}")
            if not as_json:
                counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items())) or "no messages"
                self.stdout.write(f"{mailbox.label()}: {counts}.")
        if failed:
            raise CommandError("\n".join(failed))
