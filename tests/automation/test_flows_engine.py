"""Runs of flows through the real inbound path: the customer writes to a sandbox number (webhook stored, ingested,
the inbound dispatcher's task), the flow's trigger starts a run, its steps answer through messaging's send path."""

from automation.models import FlowRun, FlowRunStep
from tests.automation.flows_support import keyword_trigger, linked_flow, sandbox_number, sent_texts, text, the_run, writes


def test_a_keyword_flow_answers_the_keyword(org):
    number = sandbox_number(org)
    linked_flow(org, number, [keyword_trigger("hello"), text("hi", "Hi {{contact.first_name}}!")])

    writes(org, number, "Hello")

    assert sent_texts(org) == ["Hi Alex!"]
    run = the_run(org)
    assert run.status == FlowRun.Status.COMPLETED
    assert list(FlowRunStep.objects.filter(run=run).values_list("step_no", "node_id")) == [(1, "start"), (2, "hi")]
