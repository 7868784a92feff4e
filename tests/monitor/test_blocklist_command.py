"""`manage.py run_audit`, the django-q2 schedules and tasks, the blocklist page and "Run now"."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule, Success

from monitor.models import AuditRun
from monitor.models.blocklists import Listing
from monitor.schedules import sync_schedules

from tests.monitor.blocklist_fixtures import PLAIN, REFUSING, bl_settings, make_list, make_pool  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited(bl_settings, org):
    make_list(PLAIN, delist_url="https://plain.bl.test/remove?ip={target}", codes={"127.0.0.2": "spam source"})
    make_list(REFUSING)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.11", name="outbound")
    make_pool(org, "ip", "192.0.2.50", name="transactional")
    return org


def run_command(capsys, *args):
    call_command("run_audit", *args)
    return capsys.readouterr().out


def test_it_prints_one_json_object_per_line(audited, capsys):
    out = run_command(capsys, "blacklist", "--org", "acme", "--json")

    records = [json.loads(line) for line in out.splitlines()]
    health = [r for r in records if "health" in r]
    results = [r for r in records if "target" in r]
    assert sorted(health, key=lambda r: r["zone"]) == [
        {"zone": PLAIN, "health": "ok", "reason": ""},
        {"zone": REFUSING, "health": "unusable",
         "reason": "test point 127.0.0.2 answered 127.255.255.254 (refused: query through a public or open resolver)"},
    ]
    assert sorted(results, key=lambda r: r["target"]) == [
        {"target": "192.0.2.10", "zone": PLAIN, "status": "listed", "codes": ["127.0.0.2"],
         "reason": "plain.bl.test lists 192.0.2.10"},
        {"target": "192.0.2.11", "zone": PLAIN, "status": "clean", "codes": [], "reason": ""},
        {"target": "192.0.2.50", "zone": PLAIN, "status": "clean", "codes": [], "reason": ""},
    ]
    run = AuditRun.objects.get()
    assert run.trigger == AuditRun.COMMAND and run.status == AuditRun.SUCCEEDED


def test_it_prints_a_readable_summary_and_checks_one_pool(audited, capsys):
    out = run_command(capsys, "blocklist", "--pool", "outbound")

    assert "acme: blocklist audit succeeded in" in out
    assert "2 target(s) x 2 list(s): 1 listed (1 new, 0 cleared), 1 clean, 0 error(s); 7 DNS questions, 0 retried" in out
    assert f"list {REFUSING} is unusable" in out
    assert "LISTED 192.0.2.10 on plain.bl.test [127.0.0.2] plain.bl.test lists 192.0.2.10" in out
    assert "192.0.2.50" not in out


def test_it_exits_non_zero_when_it_cannot_run(audited, capsys):
    with pytest.raises(CommandError, match="no organisation with slug 'nope'"):
        call_command("run_audit", "blacklist", "--org", "nope")
    with pytest.raises(CommandError, match="no pool named 'nope'"):
        call_command("run_audit", "blacklist", "--pool", "nope")
    AuditRun.start(audited, AuditRun.BLOCKLIST)
    with pytest.raises(CommandError, match="already running"):
        call_command("run_audit", "blacklist", "--org", "acme")
    with pytest.raises(CommandError, match="invalid choice: 'whitelist'"):
        call_command("run_audit", "whitelist")


def test_it_exits_zero_with_listings_and_errors(audited, bl_settings, capsys):
    audited.pools.get(name="outbound").members.create(value="192.0.2.12")
    bl_settings.set_fault("12.2.0.192." + PLAIN + ".", servfail=True)
    out = run_command(capsys, "blacklist", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert {"target": "192.0.2.12", "zone": PLAIN, "status": "error", "codes": [],
            "reason": "server answered SERVFAIL"} in records


def test_it_dispatches_dns_to_the_dns_audit(bl_settings, org, capsys):
    make_pool(org, "domain", "example.test")
    out = run_command(capsys, "dns", "--org", "acme", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all({"target", "check", "status", "message"} <= set(r) for r in records)
    assert AuditRun.objects.get().kind == AuditRun.DNS


def test_it_registers_both_audit_schedules_per_organisation(org, other_org):
    org.blocklist_cron = "15 2 * * 0"
    org.save()

    sync_schedules()

    mine = {s.name: s for s in Schedule.objects.filter(name__contains="audit-")}
    blocklist = mine["monitor:audit-blocklist-acme"]
    assert (blocklist.func, blocklist.cron, blocklist.schedule_type) == ("monitor.tasks.run_blocklist_audit", "15 2 * * 0", Schedule.CRON)
    assert blocklist.kwargs in ({"org_id": org.id}, repr({"org_id": org.id}))
    dns = mine["monitor:audit-dns-globex"]
    assert (dns.func, dns.cron) == ("monitor.tasks.run_dns_audit", "0 4 * * 1")
    assert set(mine) >= {"monitor:audit-blocklist-globex", "monitor:audit-dns-acme"}


@pytest.mark.django_db(transaction=True)
def test_it_fires_a_scheduled_run_with_the_worker_in_sync_mode(bl_settings, settings, monkeypatch, org):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q reads Q_CLUSTER once, at import
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10")
    sync_schedules()
    Schedule.objects.filter(name="monitor:audit-blocklist-acme").update(next_run=timezone.now() - timedelta(minutes=1))

    from django_q.scheduler import scheduler

    scheduler()

    run = AuditRun.objects.get(kind=AuditRun.BLOCKLIST)
    assert run.trigger == AuditRun.SCHEDULE and run.status == AuditRun.SUCCEEDED
    assert Listing.objects.get().target == "192.0.2.10"
    assert Schedule.objects.get(name="monitor:audit-blocklist-acme").next_run > timezone.now()
    done = Success.objects.get(func="monitor.tasks.run_blocklist_audit")
    assert done.result.startswith("Blocklist audit of acme: succeeded")
    assert not AuditRun.objects.filter(kind=AuditRun.DNS).exists(), "the DNS schedule was not due"


def test_it_skips_a_task_for_an_organisation_that_is_running_or_gone(bl_settings, org):
    from monitor.tasks import run_blocklist_audit

    AuditRun.start(org, AuditRun.BLOCKLIST)
    assert run_blocklist_audit(org.id).startswith("skipped: A blocklist audit of acme is already running")
    assert "no longer exists" in run_blocklist_audit(org.id + 1000)


# -- the page and "Run now" -------------------------------------------------------------------------


def test_it_shows_listings_health_and_runs(audited, viewer_client):
    call_command("run_audit", "blacklist")

    response = viewer_client.get(reverse("blocklists", args=["acme"]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "192.0.2.10" in page and "spam source" in page and "plain.bl.test lists 192.0.2.10" in page
    assert "https://plain.bl.test/remove?ip=192.0.2.10" in page
    assert "unusable" in page and "127.255.255.254" in page
    assert "Command line" in page and "Succeeded" in page
    assert "Run blocklist audit now" not in page, "viewers cannot start audits"


def test_it_hides_other_organisations_pages(audited, client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("blocklists", args=["acme"])).status_code == 404
    assert client.post(reverse("run_audit", args=["acme", "blocklist"])).status_code == 404


def test_it_lets_editors_run_an_audit_now(audited, editor_client, settings, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)
    assert "Run blocklist audit now" in editor_client.get(reverse("blocklists", args=["acme"])).content.decode()

    response = editor_client.post(reverse("run_audit", args=["acme", "blocklist"]))

    assert response.status_code == 302 and response["Location"] == reverse("blocklists", args=["acme"])
    run = AuditRun.objects.get()
    assert run.trigger == AuditRun.MANUAL and run.status == AuditRun.SUCCEEDED


def test_it_refuses_run_now_to_viewers_gets_and_forged_posts(audited, viewer_client, client, editor):
    assert viewer_client.post(reverse("run_audit", args=["acme", "blocklist"])).status_code == 403
    client.force_login(editor)
    assert client.get(reverse("run_audit", args=["acme", "blocklist"])).status_code == 405
    assert client.post(reverse("run_audit", args=["acme", "nothing"])).status_code == 404
    from django.test import Client

    forged = Client(enforce_csrf_checks=True)
    forged.force_login(editor)
    assert forged.post(reverse("run_audit", args=["acme", "blocklist"])).status_code == 403
    assert not AuditRun.objects.exists()


def test_it_does_not_queue_a_second_run(audited, editor_client):
    AuditRun.start(audited, AuditRun.BLOCKLIST)
    response = editor_client.post(reverse("run_audit", args=["acme", "blocklist"]), follow=True)
    assert "already running" in response.content.decode()
    assert AuditRun.objects.count() == 1


def test_it_runs_audits_now_from_the_admin(audited, client, django_user_model, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "pw-pw-pw-pw")
    client.force_login(admin)

    response = client.post(reverse("admin:monitor_organization_changelist"),
                           {"action": "run_blocklist_audit_now", "_selected_action": [audited.pk]}, follow=True)

    assert response.status_code == 200 and "Blocklist audit queued for acme" in response.content.decode()
    assert AuditRun.objects.get().trigger == AuditRun.MANUAL
    assert client.get(reverse("admin:monitor_blocklist_changelist")).status_code == 200
    assert client.get(reverse("admin:monitor_auditrun_change", args=[AuditRun.objects.get().pk])).status_code == 200
