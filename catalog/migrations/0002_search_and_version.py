"""The catalog's data version and its full-text index, kept by database
triggers: see catalog/dbsync.py, which also runs after every `migrate`."""

from django.db import migrations, models


def install(apps, schema_editor):
    from catalog import dbsync

    dbsync.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from catalog import dbsync

    dbsync.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogState",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("version", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
