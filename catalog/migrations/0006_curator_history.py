"""Label groups may be single-choice or internal; the history of entry changes.

Maturity tier and level become single-choice on existing databases (the
fixtures say so for new ones); curators may view the history (Recent changes).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


SINGLE_CHOICE_GROUPS = ["maturity", "level"]
HISTORY_PERMISSIONS = {"Curators": ["view_change"]}


def forwards(apps, schema_editor):
    apps.get_model("catalog", "LabelGroup").objects.filter(slug__in=SINGLE_CHOICE_GROUPS).update(single_choice=True)
    from django.contrib.auth.management import create_permissions

    # Django makes permissions after the last migration (post_migrate); this one needs them now.
    catalog = apps.get_app_config("catalog")
    catalog.models_module = True
    create_permissions(catalog, apps=apps, verbosity=0)
    catalog.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in HISTORY_PERMISSIONS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_import_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('auth', '__latest__'),
        ('contenttypes', '__latest__'),
    ]

    operations = [
        migrations.AddField(
            model_name='labelgroup',
            name='internal',
            field=models.BooleanField(default=False, help_text='For curators only: hidden from reader pages, facets and the submit form.'),
        ),
        migrations.AddField(
            model_name='labelgroup',
            name='single_choice',
            field=models.BooleanField(default=False, help_text='An entry has at most one label of this group (e.g. maturity tier).'),
        ),
        migrations.CreateModel(
            name='Change',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('entry_title', models.CharField(max_length=500)),
                ('entry_url', models.CharField(max_length=2000)),
                ('action', models.CharField(choices=[('created', 'created'), ('changed', 'changed'), ('deleted', 'deleted')], default='changed', max_length=10)),
                ('values', models.JSONField(default=dict, help_text='{field: [old, new]}')),
                ('at', models.DateTimeField(db_index=True)),
                ('source', models.CharField(choices=[('admin', 'admin form'), ('bulk', 'bulk action'), ('import', 'import'), ('approval', 'submission approval'), ('revert', 'revert'), ('job', 'job'), ('command', 'command')], max_length=10)),
                ('command', models.CharField(blank=True, help_text='The command and its arguments, for jobs.', max_length=1000)),
                ('note', models.CharField(blank=True, help_text='What the change was, e.g. the bulk action.', max_length=500)),
                ('entry', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='changes', to='catalog.entry')),
                ('reverts', models.ForeignKey(blank=True, help_text='Undone here.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reverted_by', to='catalog.change')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'change',
                'verbose_name_plural': 'recent changes',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['entry', '-at'], name='change_entry_idx'), models.Index(fields=['source', '-at'], name='change_source_idx')],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
