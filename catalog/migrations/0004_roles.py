"""The staff roles, as groups with their permissions.

"Moderators" review reader submissions and nothing else; "Curators" edit the
whole catalog and may also moderate. Superusers need no group. Self-contained:
the permission list is written out here, not imported from the app.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CATALOG_MODELS = ["edition", "dimension", "topic", "section", "labelgroup", "label", "taggedentry", "entry", "placement"]
MODERATE = ["view_submission", "change_submission"]
ROLES = {
    "Moderators": MODERATE,
    "Curators": [f"{action}_{model}" for model in CATALOG_MODELS for action in ("add", "change", "delete", "view")]
    + MODERATE,
}


def create_roles(apps, schema_editor):
    # Django makes permissions after the last migration (post_migrate); this one needs them now.
    catalog = apps.get_app_config("catalog")
    catalog.models_module = True
    create_permissions(catalog, apps=apps, verbosity=0)
    catalog.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        permissions = list(Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))
        missing = set(codenames) - {p.codename for p in permissions}
        if missing:
            raise RuntimeError(f"permissions missing for the {name} role: {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_submission"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
