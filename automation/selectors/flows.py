"""Reads of flows, their runs, workflows and custom functions: scoped to one organization."""

from django.db.models import QuerySet

from accounts.models import Organization
from automation.models import CustomFunction, Flow, FlowRun, FlowRunStep
from messaging.models import Provider, WhatsAppNumber


def flow_list(*, org: Organization) -> QuerySet[Flow]:
    return Flow.objects.for_org(org).select_related("created_by")


def workflow_list(*, org: Organization) -> QuerySet[Flow]:
    return flow_list(org=org).filter(kind=Flow.Kind.WORKFLOW)


def flow_run_list(*, org: Organization) -> QuerySet[FlowRun]:
    return FlowRun.objects.for_org(org).select_related("flow", "flow_version", "contact")


def flow_run_steps(*, run: FlowRun) -> QuerySet[FlowRunStep]:
    return FlowRunStep.objects.for_org(run.organization_id).filter(run=run).order_by("step_no")


def function_list(*, org: Organization) -> QuerySet[CustomFunction]:
    return CustomFunction.objects.for_org(org)


def sandbox_numbers(*, org: Organization) -> QuerySet[WhatsAppNumber]:
    """The numbers a flow can be tried on (POST flows/{id}/test): the organization's sandbox numbers."""
    return WhatsAppNumber.objects.for_org(org).live().filter(provider=Provider.SANDBOX)


def flows_using_function(*, function: CustomFunction) -> list[Flow]:
    """The flows whose current graph calls this function."""
    return [
        flow
        for flow in Flow.objects.for_org(function.organization_id).only("pk", "name", "nodes")
        if any(
            isinstance(node, dict)
            and node.get("type") == "function"
            and isinstance(node.get("data"), dict)
            and node["data"].get("function_id") == function.pk
            for node in flow.nodes
        )
    ]
