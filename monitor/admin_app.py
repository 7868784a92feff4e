"""The admin without autodiscovery at start-up.

``django.contrib.admin``'s default app config imports every app's ``admin.py`` (and the forms, widgets
and templates they pull in) when Django starts, which every management command pays for. Here the
admin modules are imported by ``admin.autodiscover()`` where they are needed: when the root URLconf
loads (``monitor/urls.py``: every web request, the test client) and before the admin's system checks
run (``manage.py check`` reports problems in our ``ModelAdmin`` classes as before, whatever order the
checks run in).
"""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def check_admin_app_discovered(app_configs, **kwargs):
    """``check_admin_app`` once every app's admin module has registered its models."""
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminConfig(SimpleAdminConfig):
    def ready(self):
        # SimpleAdminConfig.ready() registers check_admin_app itself; this one autodiscovers first.
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_admin_app_discovered, checks.Tags.admin)
