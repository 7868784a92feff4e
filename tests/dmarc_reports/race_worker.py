"""A separate process for the concurrent-duplicate test (test_store_concurrency.py).

    python -m tests.dmarc_reports.race_worker schema SLUG     # SQLite file only: every table, one organisation
    python -m tests.dmarc_reports.race_worker count           # prints: reports rows messages-in-roll-ups
    python -m tests.dmarc_reports.race_worker import SLUG REPORT READY GO
        # set up Django, touch READY, wait for GO to exist, import REPORT for SLUG, print the status

The database is the one DATABASE_URL names, as for the application itself.
"""

import os
import sys
import time
from pathlib import Path


def main(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection

    if argv[0] == "schema":
        with connection.schema_editor() as editor:
            for model in apps.get_models():
                if model._meta.managed and not model._meta.proxy:
                    editor.create_model(model)
        from monitor.models import Organization

        Organization.objects.create(slug=argv[1], name=argv[1])
        return
    if argv[0] == "count":
        from django.db.models import Sum

        from dmarc_reports.models import AggregateReport, DailyRollup, ReportRow

        messages = DailyRollup.objects.aggregate(n=Sum("messages"))["n"] or 0
        print(AggregateReport.objects.count(), ReportRow.objects.count(), messages)
        return
    slug, report, ready, go = argv[1:5]
    from dmarc_reports.importing import import_file
    from monitor.models import Organization

    org = Organization.objects.get(slug=slug)
    data = Path(report).read_bytes()
    Path(ready).touch()
    deadline = time.monotonic() + 30
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.001)
    outcome = import_file(data, name=Path(report).name, org=org, via="api", enrich=False)
    print(outcome.status, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
