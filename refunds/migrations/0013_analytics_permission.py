"""Reviewers and support see the operations analytics (refunds.view_analytics)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"reviewer": ["refunds.view_analytics"], "support": ["refunds.view_analytics"]}


def grant_analytics(apps, schema_editor):
    app_config = apps.get_app_config("refunds")
    previous = getattr(app_config, "models_module", None)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = previous

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):

    dependencies = [
        ('refunds', '0012_home_counts_indexes'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='refundrequest',
            options={'ordering': ('due_at', 'id'), 'permissions': [('decide_refundrequest', 'Can approve or deny refund requests'), ('resolve_dispute', 'Can overturn or uphold disputed decisions'), ('view_analytics', 'Can see the operations analytics')]},
        ),
        migrations.RunPython(grant_analytics, migrations.RunPython.noop),
    ]
