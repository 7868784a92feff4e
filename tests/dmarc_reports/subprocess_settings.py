"""Settings for ``manage.py`` run as a subprocess by a test: the project's, with the schema made from
the models (``migrate --run-syncdb``) as the test database is, rather than from migrations."""

from monitor.settings import *  # noqa: F401,F403


class _NoMigrations(dict):
    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None


MIGRATION_MODULES = _NoMigrations()
