"""Support may send a credit the worker gave up on to the payment provider again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"support": ["refunds.retry_credit"]}


def grant_retry_to_support(apps, schema_editor):
    # Permissions are normally made after all migrations; the group needs this one now.
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
        ("refunds", "0007_queue_table_index"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="credit",
            options={
                "ordering": ("-created_at", "-id"),
                "permissions": [
                    ("retry_credit", "Can send a stuck credit to the payment provider again")
                ],
            },
        ),
        migrations.RunPython(grant_retry_to_support, migrations.RunPython.noop),
    ]
