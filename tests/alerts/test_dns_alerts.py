"""DNS alerts from real DNS audits against the loopback DNS server."""

import pytest
from django.core.management import call_command

from monitor.alerts import evaluate
from monitor.dns_audit.runner import run_dns_audit
from monitor.models import Alert, AuditRun, Pool, PoolMember
from tests.alerts.conftest import html_part, text_part

pytestmark = pytest.mark.django_db

ZONE = """
$ORIGIN alerting.test.
$TTL 60
@          MX   10 mx1.good.dnsaudit.test.
@          TXT  "v=spf1 ip4:203.0.113.10 -all"
_dmarc     TXT  "v=DMARC1; p=reject; rua=mailto:dmarc@alerting.test"
"""
GOOD_SPF = "v=spf1 ip4:203.0.113.10 -all"
ELEVEN = "v=spf1 " + " ".join(f"include:i{n}.spfparts.dnsaudit.test" for n in range(1, 12)) + " -all"


@pytest.fixture
def domain(org, dns_settings):
    dns_settings.add_zone_text("alerting.test.", ZONE)
    pool = Pool.objects.create(organization=org, name="brands", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=pool, value="alerting.test")
    return dns_settings


def set_spf(dns, value):
    dns.remove_records("alerting.test.", "TXT")
    strings = " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))
    dns.add_record("alerting.test.", "TXT", strings)


def audit(org) -> AuditRun:
    run = run_dns_audit(org)
    evaluate.after_dns_audit(run)
    return run


def spf_alerts():
    return Alert.objects.filter(kind=Alert.DNS_CHECK, key="alerting.test|spf")


def test_it_alerts_once_when_a_check_gets_worse_and_once_when_it_is_fixed(org, domain, smtp):
    audit(org)
    assert not Alert.objects.exists()  # a first audit is no change

    set_spf(domain, ELEVEN)
    audit(org)
    audit(org)  # still broken: nothing new
    [alert] = spf_alerts()
    assert alert.status == Alert.OPEN
    assert alert.title == "[DNS] alerting.test SPF: 11/10 lookups"
    assert "SPF needs 11 DNS lookups; the limit is 10" in dict(alert.details["facts"])["Finding"]

    set_spf(domain, GOOD_SPF)
    audit(org)
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED
    assert alert.resolved_title.startswith("[DNS OK] alerting.test SPF: ")

    call_command("deliver_alerts")
    subjects = [m.message["Subject"] for m in smtp.messages]
    assert subjects.count(alert.title) == 1 and subjects.count(alert.resolved_title) == 1
    [message] = [m for m in smtp.messages if m.message["Subject"] == alert.title]
    text = text_part(message)
    assert "Finding: SPF needs 11 DNS lookups; the limit is 10" in text
    assert "include:i11.spfparts.dnsaudit.test" in text and "Before:" not in text


def test_it_sends_the_old_and_new_record_when_a_record_changes(org, domain, smtp):
    audit(org)
    set_spf(domain, ELEVEN)
    audit(org)
    audit(org)

    [change] = Alert.objects.filter(kind=Alert.DNS_CHANGE)
    assert change.title == "[DNS change] alerting.test SPF record changed"
    call_command("deliver_alerts")
    [message] = [m for m in smtp.messages if m.message["Subject"] == change.title]
    for body in (text_part(message), html_part(message)):
        assert GOOD_SPF in body
        assert "include:i11.spfparts.dnsaudit.test" in body


def test_it_sends_a_dmarc_record_change(org, domain):
    audit(org)
    domain.remove_records("_dmarc.alerting.test.", "TXT")
    domain.add_record("_dmarc.alerting.test.", "TXT", '"v=DMARC1; p=none; rua=mailto:dmarc@alerting.test"')
    audit(org)
    [change] = Alert.objects.filter(kind=Alert.DNS_CHANGE)
    assert change.key.startswith("alerting.test|dmarc|")
    assert change.details["old_records"] == ["v=DMARC1; p=reject; rua=mailto:dmarc@alerting.test"]
    assert change.details["new_records"] == ["v=DMARC1; p=none; rua=mailto:dmarc@alerting.test"]


def test_it_takes_an_unanswered_audit_for_neither_worse_nor_better(org, domain):
    audit(org)
    domain.set_fault("alerting.test.", servfail=True)
    audit(org)  # ok -> error: no alert
    assert not Alert.objects.filter(kind__in=[Alert.DNS_CHECK, Alert.DNS_CHANGE]).exists()

    domain.clear_fault("alerting.test.")
    set_spf(domain, ELEVEN)
    audit(org)  # error -> fail, after ok: worse
    assert spf_alerts().get().status == Alert.OPEN

    domain.set_fault("alerting.test.", servfail=True)
    audit(org)  # fail -> error: not an all-clear
    assert spf_alerts().get().status == Alert.OPEN
    # The record changed once (ok -> 11 includes), not when the audit saw nothing.
    assert Alert.objects.filter(kind=Alert.DNS_CHANGE, key__startswith="alerting.test|spf|").count() == 1


def test_it_alerts_once_when_the_dns_audit_fails(org, domain):
    for _ in range(2):
        run = AuditRun.start(org, AuditRun.DNS)
        run.fail("RuntimeError: resolver configuration unreadable")
        evaluate.after_dns_audit(run)
    [alert] = Alert.objects.filter(kind=Alert.AUDIT_FAILED)
    assert alert.key == "dns" and alert.title == "[Audit failed] DNS audit of Acme Mail"

    audit(org)
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED


def test_it_catches_up_on_a_run_that_was_never_handed_over(org, domain):
    run_dns_audit(org)
    set_spf(domain, ELEVEN)
    run_dns_audit(org)
    Alert.objects.all().delete()  # as if the worker died before handing the run to the alerts

    evaluate.evaluate_all()
    evaluate.evaluate_all()

    assert spf_alerts().get().status == Alert.OPEN
    assert Alert.objects.filter(kind=Alert.DNS_CHANGE).count() == 1
