"""The three roles as groups with their permissions, and the starting denial templates."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_REQUESTS = [
    "leads.view_lead",
    "leads.view_message",
    "leads.view_contactattempt",
    "accounts.view_market",
    "accounts.view_servicecategory",
    "accounts.view_proprofile",
    "refunds.view_refundrequest",
    "refunds.view_decision",
    "refunds.view_credit",
    "refunds.view_dispute",
    "refunds.view_refundevent",
    "refunds.view_denialtemplate",
]

ROLE_PERMISSIONS = {
    "pro": [],
    "reviewer": READ_REQUESTS
    + [
        "refunds.decide_refundrequest",
        "refunds.add_denialtemplate",
        "refunds.change_denialtemplate",
    ],
    "support": READ_REQUESTS
    + [
        "refunds.resolve_dispute",
        "accounts.view_user",
        "accounts.view_ledgerentry",
        "accounts.view_inboxmessage",
    ],
}

TEMPLATES = [
    (
        "Wrong job type: the request matches your categories",
        "wrong_job",
        "The customer asked for work in a category you offer, so the lead matched your profile.",
        "If you no longer do this kind of work, remove the category from your services so you "
        "are not matched with it again.",
    ),
    (
        "Invalid contact: the details work",
        "invalid_contact",
        "We were able to confirm the customer's phone number or email address, so the contact "
        "details were valid.",
        "Try every contact method on the lead, a few times over a day or two, before reporting "
        "contact details as invalid.",
    ),
    (
        "Duplicate: not the same request",
        "duplicate",
        "We found no earlier lead from this customer for the same job sold to you.",
        "A customer may ask for more than one job; report a duplicate only when the request "
        "repeats one you already received.",
    ),
    (
        "Hired before contact: not shown in the thread",
        "hired_before_contact",
        "The conversation does not show that the customer had hired someone before you "
        "contacted them.",
        "When a customer tells you they already hired someone, keep that message in the lead's "
        "thread so we can see it.",
    ),
    (
        "Spam: the request is genuine",
        "spam",
        "The request reads as a genuine job from a real customer.",
        "Report spam for fake, automated, advertising or abusive requests only.",
    ),
    (
        "No reply from the customer",
        "",
        "A customer not answering is not one of the cases we refund: the lead itself was valid.",
        "Reply to new leads quickly and try both messages and calls; customers often choose the "
        "first pro who reaches them.",
    ),
    (
        "Customer chose another pro",
        "",
        "The customer hired another pro after receiving your quote, and the lead was valid.",
        "Fast, clear quotes win more jobs. We only refund leads that fail our quality policy.",
    ),
    (
        "Not enough contact effort",
        "",
        "We could not see a good-faith effort to reach the customer: several attempts, using "
        "every contact method on the lead, with time for them to answer.",
        "Before reporting, message and call the customer more than once and give them at least "
        "a day to respond.",
    ),
    (
        "Accurate lead in your area and category",
        "",
        "The lead described a real job in your service area and one of your categories.",
        "Check your services and service area so you are matched only with jobs you want.",
    ),
]


def create_roles_and_templates(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for name in names:
            app_label, codename = name.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)

    DenialTemplate = apps.get_model("refunds", "DenialTemplate")
    for title, reason, explanation, guidance in TEMPLATES:
        DenialTemplate.objects.get_or_create(
            title=title,
            defaults={"reason": reason, "explanation": explanation, "guidance": guidance},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("leads", "0001_initial"),
        ("refunds", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles_and_templates, migrations.RunPython.noop),
    ]
