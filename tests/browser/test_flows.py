"""The flow builder in a browser: an admin builds a two-node keyword flow (a trigger, then a message), saves and
activates it, sets it on the demo's sandbox number, and watches it answer the customer's message, in the builder's
"Try it" panel and through the sandbox's real ingest path; the graph checks' refusals drawn on the node at fault;
the builder in Arabic (right to left) with a connection dragged by hand, and at a narrow width."""

import re

from playwright.sync_api import Page, expect

from automation.models import Flow, NumberAutomation
from messaging.models import Message
from messaging.services.sandbox import sandbox_inbound_simulate
from tests.browser.harness import DemoOrg, run_outside_browser_loop

CUSTOMER = "+15550111222"


def _node(page: Page, node_type: str):
    return page.locator(f".drawflow-node.fnode-{node_type}")


def _open_new_flow(page: Page) -> None:
    page.goto("/automation/flows/")
    page.locator(".page-head a[href='/automation/flows/new/']").click()
    expect(_node(page, "trigger")).to_have_count(1)


def test_an_admin_builds_a_keyword_flow_activates_it_and_watches_it_answer(
    page: Page, demo_org: DemoOrg, login_session, screenshot
):
    login_session(page, demo_org.admin.user)
    _open_new_flow(page)

    page.locator("#flow-name").fill("Greeter")
    page.get_by_label("Keywords (one a line)").fill("hello")
    page.locator(".palette").get_by_role("button", name="Send message").click()  # after the selected trigger
    page.get_by_label("Text", exact=True).fill("Hi from the flow! 👋")
    expect(_node(page, "send_message").locator(".fnode-summary")).to_have_text("Hi from the flow! 👋")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("[data-status]")).to_have_text("Saved: version 1.")
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("[data-active]")).to_have_text("Active")
    expect(page).to_have_url(re.compile(r"/automation/flows/\d+/$"))

    flow = Flow.objects.get(name="Greeter")
    assert flow.is_active is True
    assert [(node["id"], node["type"], node["data"]) for node in flow.nodes] == [
        ("trigger_1", "trigger", {"on": "keyword", "keywords": ["hello"], "match": "exact"}),
        ("send_message_1", "send_message", {"type": "text", "text": "Hi from the flow! 👋"}),
    ]
    assert flow.edges == [{"id": "trigger_1-next-send_message_1", "source": "trigger_1", "target": "send_message_1"}]

    # Try it: the customer writes in the builder's panel, the flow answers there.
    page.get_by_role("tab", name="Try it").click()
    page.get_by_placeholder("Write as the customer…").fill("hello")
    page.locator("[data-test-form]").get_by_role("button", name="Send", exact=True).click()
    transcript = page.locator("[data-transcript]")
    expect(transcript.locator(".is-customer p")).to_have_text(["hello"])
    expect(transcript.locator(".is-flow p")).to_have_text(["Hi from the flow! 👋"])
    expect(page.locator("[data-run-status]")).to_have_text("Run: completed")
    screenshot(page, "flow-builder-en")

    # On the number: the flow is set on the sandbox number (its API is the bots area's) and a customer writes.
    NumberAutomation.objects.create(organization=demo_org.organization, number=demo_org.number, flow=flow)
    run_outside_browser_loop(
        sandbox_inbound_simulate,
        organization=demo_org.organization,
        number_id=demo_org.number.pk,
        phone=CUSTOMER,
        part={"type": "text", "text": {"body": "Hello"}},
    )
    answer = Message.objects.get(direction="outbound", conversation__contact__phone=CUSTOMER)
    assert (answer.text, answer.status) == ("Hi from the flow! 👋", "read")
    page.goto(f"/inbox/{answer.conversation_id}/")
    expect(page.locator(".bubble").filter(has_text="Hi from the flow!")).to_have_count(1)


def test_a_refused_graph_is_drawn_on_the_node_at_fault(page: Page, demo_org: DemoOrg, login_session, screenshot):
    login_session(page, demo_org.admin.user)
    _open_new_flow(page)
    page.locator("#flow-name").fill("Broken")

    page.get_by_role("button", name="Save", exact=True).click()  # a keyword trigger without a keyword

    trigger = _node(page, "trigger")
    expect(trigger).to_have_class(re.compile(r"\bhas-error\b"))
    expect(trigger.locator("[data-node-errors]")).to_have_text("A keyword trigger needs at least one keyword.")
    expect(page.locator("[data-status]")).to_have_text("Not saved: fix the nodes marked in red.")
    assert Flow.objects.count() == 0
    trigger.click()
    expect(page.locator(".settings-errors")).to_have_text("A keyword trigger needs at least one keyword.")
    page.locator(".palette").get_by_role("button", name="Ask").click()
    page.get_by_label("Question").fill("Which size?")
    page.get_by_label("Buttons (one a line, at most 3)").fill("Small\nLarge")
    page.get_by_label("Expect").select_option("choice")
    expect(_node(page, "ask").locator(".output")).to_have_count(5)  # on, no answer, invalid, Small, Large
    screenshot(page, "flow-builder-errors")


def test_the_builder_in_arabic_connects_nodes_dragged_by_hand(
    arabic_page: Page, demo_org: DemoOrg, login_session, screenshot
):
    page = arabic_page
    login_session(page, demo_org.admin.user)
    _open_new_flow(page)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".canvas-wrap")).to_have_attribute("dir", "ltr")
    page.locator("#flow-name").fill("ترحيب")
    page.locator("#setting-keywords").fill("مرحبا")
    page.locator(".flow-canvas").click(position={"x": 40, "y": 300})  # nothing selected: the next node is not linked
    page.locator("[data-add='send_message']").click()
    page.locator("#setting-text").fill("أهلاً {{contact.first_name}}!")
    send = _node(page, "send_message")
    send.drag_to(page.locator(".flow-canvas"), target_position={"x": 560, "y": 160})
    page.locator(".drawflow-node.fnode-trigger .output_1").drag_to(send.locator(".input_1"))
    page.locator("[data-action='save']").click()
    expect(page.locator("[data-status]")).to_contain_text("1")

    flow = Flow.objects.get(name="ترحيب")
    assert flow.edges == [{"id": "trigger_1-next-send_message_1", "source": "trigger_1", "target": "send_message_1"}]
    assert flow.nodes[1]["data"] == {"type": "text", "text": "أهلاً {{contact.first_name}}!"}
    screenshot(page, "flow-builder-ar")


def test_the_flows_list_and_a_narrow_builder(page: Page, demo_org: DemoOrg, login_session, screenshot):
    login_session(page, demo_org.admin.user)
    _open_new_flow(page)
    page.locator("#flow-name").fill("Menu <b>bold</b>")
    page.get_by_label("Keywords (one a line)").fill("menu")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("[data-status]")).to_have_text("Saved: version 1.")
    expect(_node(page, "trigger").locator(".fnode-summary")).to_have_text("A keyword: menu")

    page.goto("/automation/flows/")
    expect(page.locator(".flow-name")).to_have_text(["Menu <b>bold</b>"])  # escaped, not markup
    screenshot(page, "flows-en")
    page.set_viewport_size({"width": 768, "height": 900})
    page.locator(".flow-name").click()
    expect(_node(page, "trigger")).to_be_visible()
    screenshot(page, "flow-builder-narrow")
