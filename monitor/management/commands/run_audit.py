"""``manage.py run_audit blacklist|dns [--org SLUG] [--pool NAME] [--json]``: one audit, now, here.

Exit status 0 when the audit ran (listings, failed checks and DNS errors included); non-zero when it
could not run (unknown organisation or pool, an audit of that kind already running, a crash).
With ``--json`` every line is one JSON object: list health, then each result as it completes.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from monitor.models import AuditAlreadyRunning, AuditRun, Organization, Pool
from monitor.tasks import audit_function

KINDS = {"blacklist": AuditRun.BLOCKLIST, "blocklist": AuditRun.BLOCKLIST, "dns": AuditRun.DNS}


class Command(BaseCommand):
    help = "Run a blocklist ('blacklist') or DNS audit now, synchronously (trigger 'command')."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS), help="blacklist (blocklist) or dns")
        parser.add_argument("--org", help="organisation slug (default: every organisation)")
        parser.add_argument("--pool", help="only this pool (by name)")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args, **options):
        kind = KINDS[options["kind"]]
        orgs = Organization.objects.order_by("slug")
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs:
                raise CommandError(f"no organisation with slug {options['org']!r}")
        work = []
        for org in orgs:
            pools = None
            if options["pool"]:
                pools = list(Pool.objects.filter(organization=org, name=options["pool"]))
                if not pools:
                    continue
            work.append((org, pools))
        if options["pool"] and not work:
            raise CommandError(f"no pool named {options['pool']!r}" + (f" in {options['org']}" if options["org"] else ""))

        run_audit = audit_function(kind)
        failures = []
        for org, pools in work:
            records = []
            emit = self.write_json if options["json"] else records.append
            try:
                run = run_audit(org, pools=pools, trigger=AuditRun.COMMAND, emit=emit)
            except AuditAlreadyRunning as exc:
                failures.append(str(exc))
                continue
            except Exception as exc:
                failures.append(f"{org.slug}: the audit failed: {type(exc).__name__}: {exc}")
                continue
            if not options["json"]:
                self.write_summary(org, run, records)
        if failures:
            raise CommandError("\n".join(failures))

    def write_json(self, record):
        self.stdout.write(json.dumps(record, ensure_ascii=False))

    def write_summary(self, org, run, records):
        counts = run.counts
        seconds = run.duration.total_seconds() if run.duration else 0
        self.stdout.write(f"{org.slug}: {run.get_kind_display().lower()} {run.status} in {seconds:.1f} s")
        if run.kind == AuditRun.BLOCKLIST:
            self.stdout.write(
                f"  {counts.get('targets', 0)} target(s) x {counts.get('lists', 0)} list(s): "
                f"{counts.get('listed', 0)} listed ({counts.get('newly_listed', 0)} new, {counts.get('cleared', 0)} cleared), "
                f"{counts.get('clean', 0)} clean, {counts.get('error', 0)} error(s); "
                f"{counts.get('questions', 0)} DNS questions, {counts.get('retries', 0)} retried after a timeout"
            )
            for warning in counts.get("warnings", []):
                self.stdout.write(f"  warning: {warning}")
            for record in records:
                if "health" in record and record["health"] != "ok":
                    self.stdout.write(f"  list {record['zone']} is {record['health']}: {record['reason']} (not used)")
            for record in records:
                if record.get("status") in ("listed", "error"):
                    codes = ", ".join(record["codes"])
                    detail = " ".join(part for part in (codes and f"[{codes}]", record["reason"]) if part)
                    self.stdout.write(f"  {record['status'].upper():6} {record['target']} on {record['zone']} {detail}".rstrip())
        else:
            summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("ok", "warn", "fail", "error"))
            self.stdout.write(f"  {summary}")
            for record in records:
                if record.get("status") in ("warn", "fail", "error"):
                    self.stdout.write(f"  {record['status'].upper():5} {record['target']} {record['check']}: {record['message']}")
