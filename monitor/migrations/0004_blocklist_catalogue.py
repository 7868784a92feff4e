"""Ship the curated blocklist catalogue (monitor/blocklists/catalogue.toml)."""

from django.db import migrations


def install_catalogue(apps, schema_editor):
    from monitor.blocklists.catalogue import load_catalogue

    load_catalogue(apps.get_model("monitor", "Blocklist"))


class Migration(migrations.Migration):
    dependencies = [("monitor", "0003_blocklist_alert_blocklistresult_dnscheckresult_and_more")]
    operations = [migrations.RunPython(install_catalogue, migrations.RunPython.noop)]
