"""Start-up stays cheap: no admin module, mailbox code or inventory is imported by ``django.setup()`` (the
admin's modules register their models when the URLconf loads or the admin's checks run), and the admin
still works: every page loads for a superuser and ``manage.py check`` reports problems in our admins."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib import admin
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monitor.settings"}
    prelude = "import json, sys, django; django.setup()\n"
    result = subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_imports_no_admin_mailbox_or_inventory_module_at_start_up():
    loaded = run_python(
        "import dmarc_reports.management.commands.import_reports\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    unwanted = ["monitor.admin", "dmarc_reports.admin", "dmarc_reports.admin_mailbox", "django.contrib.auth.admin",
                "django_q.admin", "dmarc_reports.mailbox_fetch", "dmarc_reports.mailbox_inventory", "monitor.inventory",
                "imaplib", "tomllib", "monitor.urls"]
    assert [name for name in unwanted if name in loaded] == []


def test_it_registers_every_admin_before_the_admin_checks_run_without_the_urlconf():
    seen = run_python(
        "from django.core.checks import Tags, run_checks\n"
        "errors = run_checks(tags=[Tags.admin])\n"
        "from django.contrib import admin\n"
        "print(json.dumps({'errors': [str(e) for e in errors], 'urls': 'monitor.urls' in sys.modules,\n"
        "  'models': sorted(m._meta.label for m in admin.site._registry)}))"
    )
    assert seen["errors"] == [] and not seen["urls"]
    assert {"auth.User", "monitor.Organization", "dmarc_reports.IncomingFile", "dmarc_reports.Mailbox",
            "django_q.Schedule"} <= set(seen["models"])


def test_it_reports_a_problem_in_one_of_our_admins_under_check(monkeypatch):
    from dmarc_reports.admin_mailbox import MailboxAdmin

    assert not [e for e in run_checks(tags=[Tags.admin]) if e.id.startswith("admin.")]
    monkeypatch.setattr(MailboxAdmin, "list_display", ["no_such_column"])
    ids = [e.id for e in run_checks(tags=[Tags.admin])]
    assert "admin.E108" in ids
    with pytest.raises(SystemCheckError, match="admin.E108"):
        call_command("check")


@pytest.mark.django_db
def test_it_loads_every_admin_page_for_a_superuser(client, django_user_model, org):
    root = django_user_model.objects.create_superuser("root", "root@example.test", "s3cret-pass!")
    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    registered = list(admin.site._registry.items())
    assert len(registered) >= 15
    for model, model_admin in registered:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(base).status_code == 200, base
        add = client.get(base + "add/")
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403), base
    page = client.get("/admin/dmarc_reports/incomingfile/")
    assert b"/reports/upload/" in page.content  # the upload page, linked from the incoming files
    page = client.get(f"/admin/monitor/organization/{org.pk}/change/")
    assert page.status_code == 200 and b"Acme Mail" in page.content


def test_it_names_every_inventory_section_in_the_order_they_are_applied():
    from monitor.inventory import sections

    assert [section.name for section in sections()] == ["organization", "member", "pool", "blocklist", "mailbox"]
