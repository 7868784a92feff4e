"""The suite builds its tables from the models (--no-migrations); this test keeps the migrations honest."""

import subprocess
import sys


def test_it_has_migrations_for_every_model_change():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], capture_output=True, text=True
    )
    assert result.returncode == 0, "Models changed without a migration:\n" + result.stdout + result.stderr


def test_it_migrates_a_fresh_database(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"}
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
