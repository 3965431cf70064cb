"""The refund.reversed event type (support took a credit back), and dispute.opened's label."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0003_customer_question_event'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.CharField(choices=[('refund.submitted', 'refund.submitted: a pro reported a lead'), ('refund.approved', 'refund.approved: the refund was approved'), ('refund.credited', 'refund.credited: the credit was paid'), ('refund.denied', 'refund.denied: the pro was told of a denial'), ('refund.customer_question', 'refund.customer_question: a reviewer asks the customer a question'), ('refund.reversed', "refund.reversed: support took a credit back from the pro's balance"), ('dispute.opened', 'dispute.opened: the pro disputed a decision or a reversal'), ('dispute.resolved', 'dispute.resolved: support overturned or upheld it')], max_length=40, verbose_name='type'),
        ),
    ]
