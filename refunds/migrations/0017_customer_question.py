"""The question a reviewer sends the customer about a report (refunds.CustomerQuestion): one per
request, and the customer's answer, a thread message, once it arrives."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0003_inbox'),
        ('refunds', '0016_partial_credit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerQuestion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField(help_text='As it was sent to the customer.', verbose_name='question')),
                ('asked_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='asked at')),
                ('answer', models.OneToOneField(blank=True, help_text="The customer's message that answers it, once it arrived.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='answered_question', to='leads.message', verbose_name='answer')),
                ('asked_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='asked by')),
                ('request', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='customer_question', to='refunds.refundrequest', verbose_name='request')),
            ],
            options={
                'verbose_name': 'customer question',
                'ordering': ('asked_at', 'id'),
            },
        ),
    ]
