from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = "Refunds"

    def ready(self) -> None:
        from config.logs import carry_request_ids_into_tasks
        from leads.access import load_with_leads

        # The worker's lines carry the id of the request that queued the task (enqueue).
        carry_request_ids_into_tasks()

        # The pro's pages show each lead's request (badge, ⋮ menu, banner): load it with the
        # lead, in the same query, so leads needs to know nothing about refunds.
        load_with_leads(lambda leads: leads.select_related("refund_request"))
