"""What automation writes to the organization's system log, through its real paths: a flow run that stops with an
error, and an outbound webhook endpoint disabled for failing."""

from datetime import timedelta

from accounts.models import SystemLog
from automation.models import FlowRun
from tests.automation.flows_support import keyword_trigger, linked_flow, node, sandbox_number, text, the_run, writes
from tests.automation.test_webhooks_delivery import emit, fail_for_almost_a_day, failing
from tests.templates.factories import MessageTemplateFactory


def test_a_flow_run_stopping_with_an_error_is_logged(org):
    number = sandbox_number(org)
    template = MessageTemplateFactory(organization=org, waba_id="sandbox", status="PAUSED")
    send = {"type": "template", "template_id": template.pk, "parameters": {"1": "x"}}
    flow = linked_flow(org, number, [keyword_trigger("hi"), node("t", "send_message", send), text("after", "never")])

    writes(org, number, "hi")

    run = the_run(org)
    assert run.status == FlowRun.Status.FAILED
    [log] = SystemLog.objects.all()
    assert (log.organization_id, log.level, log.category, log.related_type, log.related_id) == (
        org.pk,
        "error",
        "workflow",
        "flow",
        str(run.flow_id),
    )
    assert log.message == (
        f"The flow {flow.name} stopped with an error at step 2 (t): "
        "Only approved templates can be sent; this one is paused."
    )
    assert log.details["run_id"] == run.pk


def test_a_webhook_endpoint_disabled_for_failing_is_logged_once(org, settings, scripted_server, frozen):
    endpoint = failing(settings, scripted_server, org)
    fail_for_almost_a_day(org, frozen)
    assert not SystemLog.objects.exists()  # failing, still on

    frozen.shift(timedelta(hours=1))
    emit(org)
    emit(org)

    endpoint.refresh_from_db()
    assert endpoint.active is False
    [log] = SystemLog.objects.all()
    assert (log.organization_id, log.level, log.category, log.related_type, log.related_id) == (
        org.pk,
        "error",
        "webhook",
        "webhook_endpoint",
        str(endpoint.pk),
    )
    assert log.message == (
        f"The webhook {endpoint.url} was disabled: every delivery attempt failed for more than a day "
        f"({endpoint.consecutive_failures} in a row). Fix it, then activate it again."
    )
