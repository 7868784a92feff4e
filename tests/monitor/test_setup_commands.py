import pytest
from django.core.management import call_command
from django.contrib.auth import get_user_model

from monitor.models import Organization

pytestmark = pytest.mark.django_db


def test_it_loads_the_demo_idempotently(capsys):
    call_command("load_demo")
    call_command("load_demo")
    org = Organization.objects.get(slug="acme")
    assert org.pools.count() == 2
    assert "Demo data is in place" in capsys.readouterr().out


def test_it_creates_the_admin_once_and_prints_the_same_login(tmp_path, monkeypatch, capsys):
    from monitor.management.commands import ensure_admin

    monkeypatch.setattr(ensure_admin, "PASSWORD_FILE", tmp_path / ".admin-password")
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert first == second and "Admin login: admin / " in first
    password = first.strip().rsplit(" ", 1)[-1]
    assert get_user_model().objects.get(username="admin").check_password(password)
