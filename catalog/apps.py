from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db import connections
from django.db.models.signals import post_migrate


def reinstall_database_sync(sender, using, **kwargs):
    """After every migrate: SQLite drops a table's triggers when a migration
    rebuilds it, so the search index and data-version triggers go back in."""
    from . import dbsync

    connection = connections[using]
    if dbsync.catalog_tables_exist(connection):
        dbsync.install(connection)


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks

        post_migrate.connect(reinstall_database_sync, sender=self, dispatch_uid="catalog-database-sync")


class CuratorAdminConfig(admin_apps.AdminConfig):
    """Django's admin with meshportal's site (admin index counts, the curator dashboard);
    named in INSTALLED_APPS in place of django.contrib.admin."""

    default = False  # "catalog" itself is CatalogConfig
    default_site = "catalog.admin_site.CuratorAdminSite"
