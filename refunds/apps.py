from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = "Refunds"

    def ready(self) -> None:
        from config.logs import carry_request_ids_into_tasks
        from leads.access import filter_threads, load_with_leads
        from refunds import services

        # The worker's lines carry the id of the request that queued the task (enqueue).
        carry_request_ids_into_tasks()

        # The pro's pages show each lead's request (badge, ⋮ menu, banner): load it with the
        # lead, in the same query, so leads needs to know nothing about refunds.
        load_with_leads(lambda leads: leads.select_related("refund_request"))
        # Messages' filters that only refunds can judge, offered beside "All".
        filter_threads("reportable", "Reportable now", services.reportable_leads)
        filter_threads("reported", "Reported", services.reported_leads)
