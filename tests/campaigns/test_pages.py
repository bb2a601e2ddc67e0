"""The campaigns pages (/campaigns/): the list, a new campaign (the form, its errors next to the fields, the schedule
in the organization's time zone, a CSV audience, the messaging limit), a campaign (counters, actions), for each role,
as the campaigns API allows them."""

import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import Role
from campaigns.models import Campaign, CampaignRecipient
from messaging.models import Contact, ContactTag, MessagingLimitTier, Tag
from templates.models import MessageTemplate
from tests.campaigns.support import MAPPING, approved_template, draft, sent_to
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import committed


@pytest.fixture(autouse=True)
def vip(org):
    """The tag the forms below send to."""
    return Tag.objects.create(organization=org, name="vip")


@pytest.fixture
def marketing(marketing_membership):
    return signed_in(marketing_membership)


def form_data(number, template, **fields) -> dict:
    """The new-campaign form as a browser posts it: a tag audience, {{1}} from the name (fallback "friend"), {{2}}
    fixed, sent now."""
    data = {
        "name": "Spring sale",
        "number": number.pk,
        "template": template.pk,
        "map-1-source": "name",
        "map-1-value": "",
        "map-1-fallback": "friend",
        "map-2-source": "static",
        "map-2-value": "Acme",
        "map-2-fallback": "",
        "audience": "tag",
        "tag": "vip",
        "when": "now",
        "scheduled_at": "",
        "action": "start",
    }
    return {**data, **fields}


def page_data(response, element_id: str) -> dict:
    """The JSON a page hands its script (json_script)."""
    html = response.content.decode()
    start = html.index(">", html.index(f'<script id="{element_id}"')) + 1
    return json.loads(html[start : html.index("</script>", start)])


# --- who may open them ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/campaigns/", "/campaigns/new/", "detail"])
def test_an_agent_gets_the_permission_denied_page(path, org, agent_membership, number, template):
    campaign = draft(org)
    url = f"/campaigns/{campaign.pk}/" if path == "detail" else path

    response = signed_in(agent_membership).get(url)

    assertContains(
        response, "Campaigns are for marketing and admins of Acme. Ask an admin for access.", status_code=403
    )


@pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel", "delete"])
def test_an_agent_cannot_act_on_a_campaign_and_nothing_changes(action, org, agent_membership, number, template):
    campaign = draft(org)

    response = committed(signed_in(agent_membership).post, f"/campaigns/{campaign.pk}/{action}/")

    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get("/campaigns/")["Location"] == "/sign-in/?next=/campaigns/"


@pytest.mark.parametrize(("role", "shown"), [(Role.ADMIN, True), (Role.MARKETING, True), (Role.AGENT, False)])
def test_the_rail_shows_campaigns_to_marketing_and_admins(role, shown, org):
    response = signed_in(MembershipFactory(organization=org, role=role)).get("/contacts/")

    link = '<span class="rail-label">Campaigns</span>'
    (assertContains if shown else assertNotContains)(response, link, html=True)


# --- the list -----------------------------------------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_number_template_status_progress_and_counters(
    org, other_org, marketing, number, template
):
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    campaign = draft(org)
    Campaign.objects.filter(pk=campaign.pk).update(
        status="running", total=8, sent=5, delivered=4, read=2, failed=1, skipped=1,
        started_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    someone_else = WhatsAppNumberFactory(organization=other_org)
    Campaign.objects.create(organization=other_org, number=someone_else, name="Not ours", template_name="x")

    response = marketing.get("/campaigns/")

    assertContains(response, f'<a class="campaign-name" href="/campaigns/{campaign.pk}/" dir="auto">Spring sale</a>')
    assertContains(response, f'<span class="ltr num muted">{number.phone_number}</span>', html=True)
    assertContains(response, "<bdi>promo</bdi> · <bdi>en_US</bdi>", html=True)
    assertContains(response, '<span class="badge badge-accent" data-status>Running</span>', html=True)
    assertContains(response, '<span class="progress-percent num" data-percent>87% done</span>', html=True)
    # The bar's parts: read 2, delivered 2, sent 1, failed 1, skipped 1 of 8, from the start.
    assertContains(response, '<rect class="progress-read" x="0.0" y="0" width="25.0" height="8" data-part="read">')
    assertContains(
        response, '<rect class="progress-skipped" x="75.0" y="0" width="12.5" height="8" data-part="skipped">'
    )
    assertContains(response, '<b data-counter="delivered">4</b>', html=True)
    assertContains(response, '<time datetime="2026-03-01T12:30:00+03:00">')  # the organization's time zone
    assertNotContains(response, "Not ours")


def test_a_campaign_on_a_number_hidden_from_the_marketer_is_not_listed(org, marketing_membership, number, template):
    draft(org)
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    Campaign.objects.create(organization=org, number=hidden, name="Their campaign", template_name="promo")

    response = signed_in(marketing_membership).get("/campaigns/")

    assertContains(response, "Spring sale")
    assertNotContains(response, "Their campaign")


def test_a_campaign_on_a_number_hidden_from_the_marketer_is_a_404_and_stays_as_it_was(org, marketing_membership):
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    campaign = Campaign.objects.create(organization=org, number=hidden, name="Theirs", template_name="promo")
    marketer = signed_in(marketing_membership)

    assert marketer.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert committed(marketer.post, f"/campaigns/{campaign.pk}/cancel/").status_code == 404
    assert committed(marketer.post, f"/campaigns/{campaign.pk}/delete/").status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_the_empty_list_says_what_a_campaign_is_and_offers_a_new_one(marketing):
    response = marketing.get("/campaigns/")

    assertContains(response, "No campaigns yet")
    assertContains(response, '<a class="button button-primary" href="/campaigns/new/">New campaign</a>', html=True)


def test_the_list_filters_by_status(org, marketing, number, template):
    draft(org, name="A draft")
    Campaign.objects.filter(pk=draft(org, name="Done").pk).update(status="completed")

    response = marketing.get("/campaigns/?status=completed")

    assertContains(response, "Done")
    assertNotContains(response, "A draft")
    assert page_data(response, "campaigns-live")["query"] == {"status": "completed", "page": 1, "page_size": 25}


def test_the_list_pages_keep_the_status_filter(org, marketing, number, template):
    campaign = draft(org)
    Campaign.objects.bulk_create(
        Campaign(organization=org, number=number, name=f"Draft {n}", template_name="promo", language="en_US")
        for n in range(25)
    )

    response = marketing.get("/campaigns/?status=draft")

    assertContains(response, '<a class="button button-small" rel="next" href="?status=draft&amp;page=2">')
    assertNotContains(response, campaign.name)  # the oldest, on page 2
    assertContains(marketing.get("/campaigns/?status=draft&page=2"), campaign.name)


# --- a new campaign ----------------------------------------------------------------------------------------------


def test_the_form_offers_the_visible_numbers_and_their_approved_templates(org, marketing, number, template):
    pending = approved_template(org, name="pending_one")
    MessageTemplate.objects.filter(pk=pending.pk).update(status=MessageTemplate.Status.PENDING)
    WhatsAppNumberFactory(organization=org, provider="waha", display_name="Web session")

    response = marketing.get("/campaigns/new/")

    assertContains(response, f'<option value="{number.pk}" selected>{number}</option>', html=True)
    assertNotContains(response, "Web session")  # WhatsApp Web sessions cannot send templates
    assertContains(response, f'<input type="radio" name="template" value="{template.pk}">', html=True)
    assertNotContains(response, "pending_one")
    data = page_data(response, "campaign-new-data")
    assert data["numbers"] == {
        str(number.pk): {
            "waba_id": number.waba_id,
            "limit": {
                "left": 250,
                "text": "Messaging limit: 250 customers outside their 24-hour window per rolling 24 hours; "
                "250 left now.",
            },
        }
    }
    assert data["templates"][str(template.pk)]["placeholders"][0]["key"] == "1"


def test_without_a_number_that_sends_templates_the_form_says_whom_to_ask(org, marketing):
    WhatsAppNumberFactory(organization=org, provider="waha", is_primary=True)

    response = marketing.get("/campaigns/new/")

    assertContains(response, "No number can send this campaign")
    assertNotContains(response, '<form method="post" enctype')
    assertNotContains(response, "campaigns-new.js")


def test_the_values_of_a_template_come_as_rows_with_its_placeholders(marketing, template):
    response = marketing.get(f"/campaigns/new/values/?template={template.pk}")

    assertContains(response, 'data-key="1"')
    assertContains(response, 'data-key="2"')
    assertContains(response, '<option value="display_name">Name, else WhatsApp profile name or number</option>')


def test_another_organization_s_template_has_no_value_rows(other_org, marketing):
    theirs = approved_template(other_org)

    response = marketing.get(f"/campaigns/new/values/?template={theirs.pk}")

    assertNotContains(response, "data-mapping-row")
    assertContains(response, "Choose a template: a row for each of its placeholders appears here.")


def test_a_draft_is_saved_with_its_audience_and_values(org, marketing, marketing_membership, number, template):
    ContactFactory(organization=org, tags=["vip"])

    response = committed(marketing.post, "/campaigns/new/", form_data(number, template, action="draft"))

    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.status, campaign.tag.name, campaign.created_by) == ("draft", "vip", marketing_membership.user)
    assert campaign.variable_mapping == MAPPING
    assert CampaignRecipient.objects.count() == 0


def test_start_now_sends_to_the_tagged_contacts(org, marketing, number, template, fake_meta):
    sara = ContactFactory(organization=org, name="Sara", tags=["vip"])
    ContactFactory(organization=org, name="Omar", tags=["other"])

    response = committed(marketing.post, "/campaigns/new/", form_data(number, template), follow=True)

    campaign = Campaign.objects.get()
    assert sent_to(fake_meta) == [sara.wa_id]
    assert (campaign.status, campaign.sent) == ("completed", 1)
    assertContains(response, "Campaign started.")


def test_a_campaign_to_chosen_contacts(org, marketing, number, template, fake_meta):
    sara, omar, _ = ContactFactory.create_batch(3, organization=org)

    committed(
        marketing.post,
        "/campaigns/new/",
        form_data(number, template, audience="contacts", tag="", contact_ids=[sara.pk, omar.pk]),
    )

    assert sorted(sent_to(fake_meta)) == sorted([sara.wa_id, omar.wa_id])


def test_a_later_time_is_read_in_the_organization_s_time_zone_and_stored_in_utc(org, marketing, number, template):
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    next_year = timezone.now().year + 1

    response = committed(
        marketing.post,
        "/campaigns/new/",
        form_data(number, template, when="later", scheduled_at=f"{next_year}-05-01T09:30"),
        follow=True,
    )

    campaign = Campaign.objects.get()
    assert campaign.status == "scheduled"
    assert campaign.scheduled_at == datetime(next_year, 5, 1, 6, 30, tzinfo=UTC)
    assertContains(response, f"Campaign scheduled for May 1, {next_year}, 9:30 a.m.")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"tag": ""}, "tag", "Choose a tag."),
        ({"audience": "contacts", "tag": ""}, "contact_ids", "Choose at least one contact."),
        ({"audience": "csv"}, "file", "Choose a CSV file of numbers."),
        ({"when": "later"}, "scheduled_at", "Choose the date and time to send it at."),
        ({"map-1-source": "attribute", "map-1-value": ""}, "map-1-value", "Name the attribute, e.g. city."),
        ({"map-2-value": "{not json"}, "map-2-value", "This is not a valid JSON object."),
    ],
)
def test_a_form_mistake_is_shown_next_to_its_field(change, field, message, marketing, number, template):
    response = marketing.post("/campaigns/new/", form_data(number, template, **change))

    assertContains(response, f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>', html=True)
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"map-2-value": ""}, "map-2-value", "Give the value."),
        ({"map-1-source": "static"}, "map-1-value", "Give the value."),
        ({"when": "later", "scheduled_at": "2020-01-01T10:00"}, "scheduled_at", "The time to send at must be in the "
         "future."),
    ],
)  # fmt: skip
def test_a_service_refusal_is_shown_next_to_the_field_it_names(change, field, message, marketing, number, template):
    response = marketing.post("/campaigns/new/", form_data(number, template, **change))

    assertContains(response, f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>', html=True)
    assert not Campaign.objects.exists()


def test_a_template_of_another_account_is_refused_next_to_the_template(org, marketing, number, template):
    other = WhatsAppNumberFactory(organization=org)
    ContactFactory(organization=org, tags=["vip"])

    response = marketing.post("/campaigns/new/", form_data(other, template))

    assertContains(
        response,
        '<ul class="errorlist" id="id_template_error"><li>No approved template promo in en_US for this number\'s '
        "WhatsApp Business Account (sync the templates, or wait for Meta's approval).</li></ul>",
        html=True,
    )


def test_a_csv_audience_is_uploaded_and_sent(org, marketing, number, template, fake_meta):
    csv = SimpleUploadedFile("numbers.csv", b"name,number\nNadia,966502220003\nOmar,+966 50 222 0004\n", "text/csv")

    committed(marketing.post, "/campaigns/new/", form_data(number, template, audience="csv", tag="", file=csv))

    campaign = Campaign.objects.get()
    assert campaign.audience == "csv"
    assert sorted(sent_to(fake_meta)) == ["966502220003", "966502220004"]


def test_a_csv_file_without_numbers_is_refused_next_to_it_and_leaves_nothing(org, marketing, number, template):
    csv = SimpleUploadedFile("numbers.csv", b"name,city\nNadia,Riyadh\n", "text/csv")

    response = marketing.post("/campaigns/new/", form_data(number, template, audience="csv", tag="", file=csv))

    assertContains(response, 'id="id_file_error"')
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()


def _tagged_contacts(org, count: int, tag: str = "vip") -> None:
    contacts = Contact.objects.bulk_create(
        Contact(organization=org, wa_id=f"9665{n:08d}", phone=f"+9665{n:08d}", name=f"C{n}") for n in range(count)
    )
    tag_row, _ = Tag.objects.get_or_create(organization=org, name=tag)
    ContactTag.objects.bulk_create(ContactTag(organization=org, contact=c, tag=tag_row) for c in contacts)


def test_an_audience_over_the_messaging_limit_is_refused_with_the_choice_to_start_anyway(
    org, marketing, number, template
):
    assert number.messaging_limit_tier == MessagingLimitTier.TIER_250
    _tagged_contacts(org, 251)

    response = marketing.post("/campaigns/new/", form_data(number, template))

    assert response.status_code == 409
    assertContains(response, "The audience is larger than the number's messaging limit allows", status_code=409)
    assertContains(response, "would reach 251 customers outside their 24-hour window", status_code=409)
    assertContains(
        response,
        '<input type="checkbox" name="allow_partial" id="id_allow_partial">',
        status_code=409,
    )
    assert not Campaign.objects.exists()


# --- a campaign ------------------------------------------------------------------------------------------------------


def test_a_campaign_shows_its_counters_actions_and_what_its_script_needs(org, marketing, number, template):
    campaign = draft(org)

    response = marketing.get(f"/campaigns/{campaign.pk}/")

    assertContains(response, '<h1 dir="auto">Spring sale</h1>', html=True)
    assertContains(response, '<dd class="stat-value" data-counter="total">0</dd>', html=True)
    html = response.content.decode()
    shown = {
        action: f'data-action="{action}" hidden' not in html
        for action in ("start", "pause", "resume", "cancel", "delete")
    }
    assert shown == {"start": True, "pause": False, "resume": False, "cancel": True, "delete": True}
    data = page_data(response, "campaign-data")
    assert data["campaign"]["id"] == campaign.pk
    assert (data["logs_url"], data["api_url"]) == (
        f"/api/v1/campaigns/{campaign.pk}/logs",
        f"/api/v1/campaigns/{campaign.pk}",
    )
    assert data["mapping"] == MAPPING
    assert data["actions"]["pause"] == ["running"]


def test_start_pause_resume_and_cancel_move_the_campaign(org, marketing, number, template, fake_meta):
    ContactFactory(organization=org, tags=["vip"])
    campaign = draft(org)
    url = f"/campaigns/{campaign.pk}/"

    response = committed(marketing.post, f"{url}pause/", follow=True)
    assertContains(response, "This campaign is draft.")

    response = committed(marketing.post, f"{url}start/", follow=True)
    assertContains(response, "Campaign started.")
    campaign.refresh_from_db()
    assert campaign.status == "completed"

    response = committed(marketing.post, f"{url}cancel/", follow=True)
    assertContains(response, "This campaign is completed.")

    response = committed(marketing.post, f"{url}delete/", follow=True)
    assertContains(response, "Campaign “Spring sale” deleted.")
    assert not Campaign.objects.exists()


def test_pausing_resuming_and_cancelling_a_running_campaign(org, marketing, number, template):
    campaign = draft(org)
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    url = f"/campaigns/{campaign.pk}/"

    assertContains(committed(marketing.post, f"{url}pause/", follow=True), "Campaign paused")
    assertContains(committed(marketing.post, f"{url}delete/", follow=True), "Campaign “Spring sale” deleted.")
    assert not Campaign.objects.exists()


def test_a_running_campaign_cannot_be_deleted(org, marketing, number, template):
    campaign = draft(org)
    Campaign.objects.filter(pk=campaign.pk).update(status="running")

    response = committed(marketing.post, f"/campaigns/{campaign.pk}/delete/", follow=True)

    assertContains(response, "A running campaign cannot be deleted: pause or cancel it first.")
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_start_over_the_messaging_limit_offers_to_start_anyway_then_starts_with_the_warning(
    org, marketing, number, template, fake_meta
):
    assert number.messaging_limit_tier == MessagingLimitTier.TIER_250
    _tagged_contacts(org, 251)
    campaign = draft(org)

    refused = committed(marketing.post, f"/campaigns/{campaign.pk}/start/")

    assertContains(refused, "Start anyway: send to as many as the limit allows", status_code=409)
    campaign.refresh_from_db()
    assert (campaign.status, CampaignRecipient.objects.count()) == ("draft", 0)

    started = committed(marketing.post, f"/campaigns/{campaign.pk}/start/", {"allow_partial": "1"}, follow=True)

    campaign.refresh_from_db()
    assert campaign.status in ("running", "completed")
    assert campaign.warning.startswith("This campaign would reach 251 customers")
    assertContains(started, "<span data-warning-text>This campaign would reach 251 customers")


def test_another_organization_s_campaign_is_a_404(other_org, marketing):
    number = WhatsAppNumberFactory(organization=other_org)
    campaign = Campaign.objects.create(organization=other_org, number=number, name="Theirs", template_name="x")

    assert marketing.get(f"/campaigns/{campaign.pk}/").status_code == 404


def test_a_scheduled_campaign_shows_when_it_will_be_sent_in_the_organization_s_time_zone(
    org, marketing, number, template
):
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    campaign = draft(org, scheduled_at=datetime(2099, 1, 2, 3, 4, tzinfo=UTC))

    response = marketing.get(f"/campaigns/{campaign.pk}/")

    assertContains(response, '<time datetime="2099-01-02T06:04:00+03:00">Jan. 2, 2099, 6:04 a.m.</time>', html=True)
    assertContains(response, '<span class="badge" data-status>Scheduled</span>', html=True)
