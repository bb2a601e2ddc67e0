"""The bots API (admins): bots in the seed's shape, scenarios (CRUD, order, validation), the test chat's scenario and
handoff answers; a number's bot and flow through the numbers API (PUT numbers/{id}, the seed's body) and its
settings page, with two organizations."""

import pytest

from accounts.models import AuditLog, Team
from automation.models import Bot, BotScenario, Flow, NumberAutomation
from automation.services import bots as services
from tests.automation.bots_support import make_bot
from tests.conftest import signed_in
from tests.messaging.factories import MediaFactory, WhatsAppNumberFactory

BOTS = "/api/v1/bots"
SEED_BODY = {
    "name": "Lead Qualifier",
    "system_prompt": "You are a sales assistant...",
    "model": "gpt-4o-mini",
    "knowledge_base_ids": [],
    "context_window": 10,
    "temperature": 0.7,
}


def scenarios_url(bot, suffix: str = "") -> str:
    return f"{BOTS}/{bot.pk}/scenarios{suffix}"


def test_an_admin_creates_a_bot_from_the_seeds_body_with_default_handoff_rules(org, admin_client):
    response = admin_client.post(BOTS, SEED_BODY, format="json")

    assert response.status_code == 201
    body = response.json()
    bot = Bot.objects.get(organization=org)
    assert body == {
        "id": bot.pk,
        "name": "Lead Qualifier",
        "system_prompt": "You are a sales assistant...",
        "model": "gpt-4o-mini",
        "temperature": 0.7,
        "context_window": 10,
        "knowledge_base_ids": [],
        "is_active": True,
        "handoff_keywords": ["agent", "human", "موظف"],
        "score_threshold": 0.2,
        "handoff_on_no_answer": False,
        "max_unanswered_turns": 2,
        "handoff_team_id": None,
        "handoff_message": "",
        "fallback_message": "Sorry, I don't have an answer to that. Could you ask in other words, or write "
        '"agent" to talk to a person?',
        "scenario_count": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert AuditLog.objects.get(action="bot.create").target_id == str(bot.pk)


def test_a_bot_created_in_arabic_gets_an_arabic_fallback(org, admin_client):
    response = admin_client.post(BOTS, {"name": "مساعد"}, format="json", HTTP_ACCEPT_LANGUAGE="ar")

    assert response.json()["fallback_message"].startswith("عذرًا")


def test_put_and_patch_change_only_the_fields_sent(org, admin_client):
    team = Team.objects.create(organization=org, name="Support")
    bot = make_bot(org, system_prompt="Be brief.")

    put = admin_client.put(f"{BOTS}/{bot.pk}", {"temperature": 1.2, "handoff_team_id": team.pk}, format="json")
    patch = admin_client.patch(
        f"{BOTS}/{bot.pk}", {"handoff_keywords": [" talk  to human ", "agent", "agent"]}, format="json"
    )

    assert (put.status_code, put.json()["temperature"], put.json()["handoff_team_id"]) == (200, 1.2, team.pk)
    assert patch.json()["handoff_keywords"] == ["talk to human", "agent"]
    assert patch.json()["system_prompt"] == "Be brief."
    assert AuditLog.objects.filter(action="bot.update").values_list("data", flat=True)[0] in (
        {"changed": ["handoff_team_id", "temperature"]},
        {"changed": ["handoff_keywords"]},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Support bot"}, "name"),  # taken
        ({"name": "x", "temperature": 2.5}, "temperature"),
        ({"name": "x", "context_window": 51}, "context_window"),
        ({"name": "x", "score_threshold": -0.1}, "score_threshold"),
        ({"name": "x", "model": "gpt 4"}, "model"),
        ({"name": "x", "knowledge_base_ids": [1]}, "knowledge_base_ids"),
        ({"name": "x", "surprise": 1}, "surprise"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_bots_are_refused_naming_the_field(org, admin_client, body, field):
    make_bot(org)

    response = admin_client.post(BOTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Bot.objects.count() == 1


def test_another_organizations_team_is_refused(org, other_org, admin_client):
    foreign = Team.objects.create(organization=other_org, name="Globex support")

    response = admin_client.post(BOTS, {"name": "x", "handoff_team_id": foreign.pk}, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["handoff_team_id"])


def test_agents_and_marketers_may_not_read_or_change_bots(org, agent_client, marketing_client):
    bot = make_bot(org)

    for client in (agent_client, marketing_client):
        assert client.get(BOTS).status_code == 403
        assert client.patch(f"{BOTS}/{bot.pk}", {"name": "Mine"}, format="json").status_code == 403
    assert Bot.objects.get().name == "Support bot"


def test_the_list_is_a_page_of_the_organizations_bots(org, other_org, admin_client, django_assert_num_queries):
    first, second = make_bot(org, name="A"), make_bot(org, name="B")
    make_bot(other_org, name="C")
    services.scenario_create(
        bot=first, actor=None, trigger="keyword", values=["hi"], reply={"type": "text", "text": "Hi"}
    )

    # the caller (2), the count, the page with its scenario counts, their knowledge bases
    with django_assert_num_queries(5):
        body = admin_client.get(BOTS).json()

    assert body["count"] == 2
    assert [(row["id"], row["scenario_count"]) for row in body["results"]] == [(first.pk, 1), (second.pk, 0)]


def test_deleting_a_bot_unsets_it_on_its_numbers(org, admin_client):
    number = WhatsAppNumberFactory(organization=org)
    bot = make_bot(org, number=number)

    response = admin_client.delete(f"{BOTS}/{bot.pk}")

    assert response.status_code == 204
    assert NumberAutomation.objects.get(number=number).bot_id is None


# --- scenarios ---------------------------------------------------------------------------------------------------


def test_scenarios_are_created_listed_in_order_and_reordered(org, admin_client):
    bot = make_bot(org)
    bodies = [
        {"name": "Hours", "trigger": "keyword", "values": ["hours"], "reply": {"type": "text", "text": "9-5"}},
        {"trigger": "regex", "pattern": r"^order\s*\d+$", "reply": {"type": "text", "text": "On its way"}},
        {"trigger": "list", "values": ["plan_pro"], "reply": {"type": "text", "text": "20 USD"}},
    ]
    created = [admin_client.post(scenarios_url(bot), body, format="json") for body in bodies]
    ids = [response.json()["id"] for response in created]

    reordered = admin_client.post(scenarios_url(bot, "/reorder"), {"ids": [ids[2], ids[0], ids[1]]}, format="json")
    listed = admin_client.get(scenarios_url(bot)).json()

    assert [response.status_code for response in created] == [201, 201, 201]
    assert created[0].json() == {
        "id": ids[0],
        "bot_id": bot.pk,
        "name": "Hours",
        "position": 0,
        "trigger": "keyword",
        "values": ["hours"],
        "match": "exact",
        "pattern": "",
        "reply": {"type": "text", "text": "9-5"},
        "is_active": True,
        "created_at": created[0].json()["created_at"],
        "updated_at": created[0].json()["updated_at"],
    }
    assert [row["id"] for row in reordered.json()] == [ids[2], ids[0], ids[1]]
    assert [(row["id"], row["position"]) for row in listed] == [(ids[2], 0), (ids[0], 1), (ids[1], 2)]


def test_a_reorder_must_list_every_scenario_once(org, admin_client):
    bot = make_bot(org)
    one = services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["a"], reply={"type": "text", "text": "A"}
    )
    services.scenario_create(bot=bot, actor=None, trigger="keyword", values=["b"], reply={"type": "text", "text": "B"})

    for ids in ([one.pk], [one.pk, one.pk], [one.pk, 999999]):
        response = admin_client.post(scenarios_url(bot, "/reorder"), {"ids": ids}, format="json")
        assert (response.status_code, list(response.json()["errors"])) == (400, ["ids"])


def test_a_scenario_update_changes_the_fields_sent_and_checks_the_whole(org, admin_client):
    bot = make_bot(org)
    scenario = services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["a"], reply={"type": "text", "text": "A"}
    )

    moved = admin_client.patch(scenarios_url(bot, f"/{scenario.pk}"), {"trigger": "button"}, format="json")
    regex = admin_client.patch(scenarios_url(bot, f"/{scenario.pk}"), {"trigger": "regex"}, format="json")

    assert (moved.status_code, moved.json()["trigger"], moved.json()["values"]) == (200, "button", ["a"])
    assert (regex.status_code, list(regex.json()["errors"])) == (400, ["pattern"])
    assert BotScenario.objects.get().trigger == "button"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trigger": "keyword", "values": [], "reply": {"type": "text", "text": "x"}}, "values"),
        ({"trigger": "keyword", "values": ["  "], "reply": {"type": "text", "text": "x"}}, "values"),
        ({"trigger": "button", "reply": {"type": "text", "text": "x"}}, "values"),
        ({"trigger": "keyword", "values": ["a"], "reply": {"type": "text", "text": ""}}, "reply"),
        (
            {
                "trigger": "keyword",
                "values": ["a"],
                "reply": {"type": "reaction", "reaction": {"message_id": 1, "emoji": "x"}},
            },
            "reply",
        ),
        ({"trigger": "keyword", "values": ["a"], "reply": {"type": "text", "text": "x", "reply_to": 3}}, "reply"),
        ({"trigger": "keyword", "values": ["a"], "reply": {"type": "image", "media_id": 99999}}, "reply"),
        ({"trigger": "keyword", "values": ["a"], "reply": "hello"}, "reply"),
        ({"trigger": "telepathy", "values": ["a"], "reply": {"type": "text", "text": "x"}}, "trigger"),
    ],
)
def test_invalid_scenarios_are_refused_naming_the_field(org, admin_client, body, field):
    bot = make_bot(org)

    response = admin_client.post(scenarios_url(bot), body, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, [field])
    assert not BotScenario.objects.exists()


def test_another_organizations_media_is_no_reply(org, other_org, admin_client):
    bot = make_bot(org)
    foreign = MediaFactory(organization=other_org)

    response = admin_client.post(
        scenarios_url(bot),
        {"trigger": "keyword", "values": ["a"], "reply": {"type": "image", "media_id": foreign.pk}},
        format="json",
    )

    assert (response.status_code, list(response.json()["errors"])) == (400, ["reply"])


def test_another_organizations_bot_has_no_scenarios_here(org, other_org, admin_client):
    foreign = make_bot(other_org)
    scenario = services.scenario_create(
        bot=foreign, actor=None, trigger="keyword", values=["a"], reply={"type": "text", "text": "A"}
    )

    assert admin_client.get(scenarios_url(foreign)).status_code == 404
    assert (
        admin_client.post(
            scenarios_url(foreign),
            {"trigger": "keyword", "values": ["b"], "reply": {"type": "text", "text": "B"}},
            format="json",
        ).status_code
        == 404
    )
    assert admin_client.delete(scenarios_url(foreign, f"/{scenario.pk}")).status_code == 404
    assert BotScenario.objects.filter(bot=foreign).count() == 1


# --- the test chat (scenarios and handoff; answers from knowledge: test_bots_answers.py) ---------------------------


def test_the_test_chat_answers_with_a_scenario_or_the_handoff_and_sends_nothing(org, admin_client):
    bot = make_bot(org, handoff_keywords=["agent"], handoff_message="A colleague will answer.")
    services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["hours"], reply={"type": "text", "text": "9-5"}
    )

    scenario = admin_client.post(f"{BOTS}/{bot.pk}/test", {"message": "Hours"}, format="json")
    handoff = admin_client.post(f"{BOTS}/{bot.pk}/test", {"message": "an agent please"}, format="json")

    assert scenario.json() == {
        "response": "9-5",
        "model_used": "",
        "tokens_used": 0,
        "sources": [],
        "outcome": "scenario",
    }
    assert handoff.json() == {
        "response": "A colleague will answer.",
        "model_used": "",
        "tokens_used": 0,
        "sources": [],
        "outcome": "handoff",
    }


# --- a number's bot and flow ---------------------------------------------------------------------------------


def test_put_numbers_takes_the_seeds_body_and_shows_the_bot_and_flow(org, admin_client):
    number = WhatsAppNumberFactory(organization=org, display_name="Support Line")
    bot = make_bot(org)
    flow = Flow.objects.create(organization=org, name="Welcome")

    response = admin_client.put(
        f"/api/v1/numbers/{number.pk}",
        {"bot_id": bot.pk, "flow_id": None, "display_name": "Updated Name"},
        format="json",
    )
    flow_set = admin_client.patch(f"/api/v1/numbers/{number.pk}", {"flow_id": flow.pk}, format="json")
    listed = admin_client.get("/api/v1/numbers").json()["results"]

    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["bot_id"], response.json()["flow_id"]) == (
        "Updated Name",
        bot.pk,
        None,
    )
    assert (flow_set.json()["bot_id"], flow_set.json()["flow_id"]) == (bot.pk, flow.pk)
    assert [(row["id"], row["bot_id"], row["flow_id"]) for row in listed] == [(number.pk, bot.pk, flow.pk)]
    assert AuditLog.objects.filter(action="number.automation").count() == 2


def test_a_number_without_automation_shows_nulls_and_null_unsets(org, admin_client, agent_client):
    number = WhatsAppNumberFactory(organization=org)
    shown = agent_client.get(f"/api/v1/numbers/{number.pk}").json()
    make_bot(org, number=number)

    unset = admin_client.put(f"/api/v1/numbers/{number.pk}", {"bot_id": None}, format="json")

    assert (shown["bot_id"], shown["flow_id"]) == (None, None)
    assert (unset.status_code, unset.json()["bot_id"]) == (200, None)


def test_another_organizations_bot_or_flow_is_refused_and_nothing_changes(org, other_org, admin_client):
    number = WhatsAppNumberFactory(organization=org, display_name="Mine")
    foreign_bot = make_bot(other_org)
    foreign_flow = Flow.objects.create(organization=other_org, name="Theirs")

    for body, field in (
        ({"bot_id": foreign_bot.pk, "display_name": "Renamed"}, "bot_id"),
        ({"flow_id": foreign_flow.pk}, "flow_id"),
    ):
        response = admin_client.put(f"/api/v1/numbers/{number.pk}", body, format="json")
        assert (response.status_code, list(response.json()["errors"])) == (400, [field])

    number.refresh_from_db()
    assert number.display_name == "Mine"  # one transaction: the refused bot takes the new name back
    assert not NumberAutomation.objects.exists()


def test_another_organizations_number_cannot_get_a_bot(org, other_org, admin_client):
    foreign = WhatsAppNumberFactory(organization=other_org)
    bot = make_bot(org)

    response = admin_client.put(f"/api/v1/numbers/{foreign.pk}", {"bot_id": bot.pk}, format="json")

    assert response.status_code == 404
    assert not NumberAutomation.objects.exists()


def test_agents_may_not_set_a_numbers_bot(org, agent_client):
    number = WhatsAppNumberFactory(organization=org)
    bot = make_bot(org)

    assert agent_client.put(f"/api/v1/numbers/{number.pk}", {"bot_id": bot.pk}, format="json").status_code == 403
    assert not NumberAutomation.objects.exists()


def test_the_numbers_list_reads_the_bots_and_flows_in_one_query(org, admin_client, django_assert_num_queries):
    for _ in range(2):
        make_bot(org, name=f"Bot {Bot.objects.count()}", number=WhatsAppNumberFactory(organization=org))
    with django_assert_num_queries(5) as first:
        admin_client.get("/api/v1/numbers")
    for _ in range(3):
        make_bot(org, name=f"Bot {Bot.objects.count()}", number=WhatsAppNumberFactory(organization=org))

    with django_assert_num_queries(len(first.captured_queries)):
        body = admin_client.get("/api/v1/numbers").json()

    assert sorted(row["bot_id"] for row in body["results"]) == sorted(Bot.objects.values_list("pk", flat=True))


def test_the_number_settings_page_chooses_the_bot_and_flow(org, admin_membership):
    number = WhatsAppNumberFactory(
        organization=org, provider="sandbox", phone_number="", phone_number_id="", waba_id=""
    )
    bot = make_bot(org)
    flow = Flow.objects.create(organization=org, name="Welcome")
    browser = signed_in(admin_membership)

    page = browser.get(f"/settings/numbers/{number.pk}/").content.decode()
    saved = browser.post(
        f"/settings/numbers/{number.pk}/", {"display_name": number.display_name, "bot_id": bot.pk, "flow_id": flow.pk}
    )

    assert f'<option value="{bot.pk}">Support bot</option>' in page
    assert f'<option value="{flow.pk}">Welcome</option>' in page
    assert saved.status_code == 302
    link = NumberAutomation.objects.get(number=number)
    assert (link.bot_id, link.flow_id) == (bot.pk, flow.pk)
    assert (
        f'<option value="{bot.pk}" selected>Support bot</option>'
        in browser.get(f"/settings/numbers/{number.pk}/").content.decode()
    )
