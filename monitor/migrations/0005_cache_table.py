"""The database cache's table (settings.CACHES, when Redis is not configured), made by migrate so that
no set-up step is left to remember. ``createcachetable`` leaves a table that exists as it is."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("monitor", "0004_blocklist_catalogue")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
