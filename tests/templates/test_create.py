"""POST templates/ submits a checked template to Meta (or the sandbox) and stores it PENDING with Meta's id: the
exact body Meta receives, media headers uploaded through the Resumable Upload API for their handle, Meta's
refusals as 4xx with nothing stored, and the sandbox's review arriving through the normal webhook ingest."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog
from messaging.models import WebhookEvent
from messaging.providers import SANDBOX_WABA_ID
from templates.models import MessageTemplate
from tests.assertions import assert_error
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_WABA_ID
from tests.messaging.factories import MediaFactory, WhatsAppNumberFactory
from tests.templates.factories import MessageTemplateFactory
from tests.templates.support import create, seasonal_promotion

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _created_at_meta(fake_meta) -> dict:
    [request] = fake_meta.find_requests(method="POST", path_endswith="/message_templates")
    return request.json


def test_a_template_is_submitted_as_meta_takes_it_and_stored_pending(
    marketing_client, marketing_membership, cloud, fake_meta
):
    fake_meta.auto_review_templates = False
    body = seasonal_promotion(category="marketing", language="en-US")

    response = create(marketing_client, body)

    assert response.status_code == 201, response.json()
    sent = _created_at_meta(fake_meta)
    assert sent == {
        "name": "seasonal_promotion",
        "language": "en_US",
        "category": "MARKETING",
        "components": seasonal_promotion()["components"],
        "parameter_format": "positional",
    }
    [at_meta] = fake_meta.templates[DEFAULT_WABA_ID]
    template = MessageTemplate.objects.get()
    assert (template.meta_id, template.waba_id, template.status, template.created_by_id) == (
        at_meta["id"],
        DEFAULT_WABA_ID,
        "PENDING",
        marketing_membership.user_id,
    )
    item = response.json()
    assert {key: item[key] for key in ("id", "name", "status", "language", "category", "components")} == {
        "id": template.pk,
        "name": "seasonal_promotion",
        "status": "PENDING",
        "language": "en_US",
        "category": "MARKETING",
        "components": sent["components"],
    }
    assert [p["key"] for p in item["placeholders"]] == ["header.1", "1", "2", "3", "button.0", "button.1"]
    assert item["preview"].splitlines() == [
        "Our {{1}} is on!",
        "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
        "Use the buttons below to manage your marketing subscriptions",
        "[Unsubscribe from Promos] [Unsubscribe from All]",
    ]
    audit = AuditLog.objects.get(action="template.create")
    assert (audit.actor_id, audit.target_id, audit.data["meta_id"]) == (
        marketing_membership.user_id,
        str(template.pk),
        at_meta["id"],
    )


def test_named_parameters_go_with_their_examples(admin_client, cloud, fake_meta):
    body = {
        "name": "order_ready",
        "language": "en",
        "category": "UTILITY",
        "parameter_format": "named",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, order {{order_number}} is ready.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "order_number", "example": "A-1"},
                        {"param_name": "first_name", "example": "Maya"},
                    ]
                },
            }
        ],
    }

    assert create(admin_client, body).status_code == 201

    sent = _created_at_meta(fake_meta)
    assert sent["parameter_format"] == "named"
    assert sent["components"][0]["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Maya"},
            {"param_name": "order_number", "example": "A-1"},
        ]
    }
    assert MessageTemplate.objects.get().parameter_format == "NAMED"


def _image_header(body: dict) -> dict:
    body["components"][0] = {"type": "HEADER", "format": "IMAGE"}
    return body


def test_an_uploaded_image_header_goes_through_the_resumable_upload_api(marketing_client, cloud, fake_meta):
    body = _image_header(seasonal_promotion())
    form = {**body, "components": json.dumps(body["components"])}
    form["header_file"] = SimpleUploadedFile("sale.png", PNG, content_type="image/png")

    response = create(marketing_client, form, format="multipart")

    assert response.status_code == 201, response.json()
    header = _created_at_meta(fake_meta)["components"][0]
    [handle] = header["example"]["header_handle"]
    upload = fake_meta.uploaded(handle)
    assert (upload.file_name, upload.file_type, upload.content) == ("sale.png", "image/png", PNG)
    assert header == {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}}
    assert MessageTemplate.objects.get().components[0] == header


def test_an_uploaded_media_can_be_the_header_example(marketing_client, org, cloud, fake_meta):
    media = MediaFactory(organization=org)
    body = _image_header(seasonal_promotion())

    response = create(marketing_client, {**body, "header_media_id": media.pk})

    assert response.status_code == 201, response.json()
    [handle] = _created_at_meta(fake_meta)["components"][0]["example"]["header_handle"]
    assert fake_meta.uploaded(handle).content == media.file.open("rb").read()


@pytest.mark.parametrize(
    ("mime_type", "errors"),
    [
        ("video/mp4", {"HEADER": ["A IMAGE header's example must be of type image/jpeg or image/png, not video/mp4."]}),
        ("image/png", None),
    ],
)
def test_the_header_file_must_fit_the_header(marketing_client, cloud, fake_meta, mime_type, errors):
    body = _image_header(seasonal_promotion())
    form = {**body, "components": json.dumps(body["components"])}
    form["header_file"] = SimpleUploadedFile("sale", PNG, content_type=mime_type)

    response = create(marketing_client, form, format="multipart")

    if errors is None:
        assert response.status_code == 201
    else:
        assert response.json()["errors"] == {"components": errors}
        assert fake_meta.requests == []


def test_another_organizations_media_is_no_header_example(marketing_client, other_org, cloud, fake_meta):
    media = MediaFactory(organization=other_org)

    response = create(marketing_client, {**_image_header(seasonal_promotion()), "header_media_id": media.pk})

    assert response.json()["errors"] == {
        "header_media_id": ["No such uploaded media in this organization (upload it with POST media/ first)."]
    }
    assert fake_meta.requests == []


def test_a_media_header_needs_the_app_id(marketing_client, cloud, fake_meta, settings):
    settings.WHATSAPP_APP_ID = ""
    form = {**_image_header(seasonal_promotion()), "header_media_id": MediaFactory(organization=cloud.organization).pk}

    body = assert_error(create(marketing_client, form), 400)

    assert body["detail"] == (
        "Missing app id: Media headers are uploaded to the Meta app, and WHATSAPP_APP_ID (its id) is not set."
    )
    assert MessageTemplate.objects.count() == 0


def test_meta_s_refusal_is_a_400_with_its_words_and_nothing_is_stored(marketing_client, cloud, fake_meta):
    fake_meta.add_template("seasonal_promotion", language="en_US")  # made in WhatsApp Manager, not synced yet

    body = assert_error(create(marketing_client, seasonal_promotion()), 400)

    assert body["errors"] == {
        "name": [
            "Meta refused: Message Template Already Exists. There is already en_US content for this template. You "
            "can create a new template and try again."
        ]
    }
    assert MessageTemplate.objects.count() == AuditLog.objects.count() == 0


def test_a_template_the_hub_has_already_is_refused_before_meta(marketing_client, org, cloud, fake_meta):
    MessageTemplateFactory(organization=org, name="seasonal_promotion", language="en_US")

    body = assert_error(create(marketing_client, seasonal_promotion()), 400)

    assert body["errors"] == {"name": ["This account already has a template seasonal_promotion in en_US."]}
    assert fake_meta.requests == []


def test_meta_not_answering_is_a_502_and_nothing_is_stored(marketing_client, cloud, fake_meta):
    fake_meta.fail_next_http(503, endpoint="templates")

    body = assert_error(create(marketing_client, seasonal_promotion()), 502)

    assert body["detail"] == "Meta did not answer (HTTP 503): nothing was changed, try again in a moment."
    assert MessageTemplate.objects.count() == 0


def test_the_number_chooses_the_account(marketing_client, org, cloud, sandbox, fake_meta):
    response = create(marketing_client, seasonal_promotion(number_id=sandbox.pk))

    assert response.json()["waba_id"] == SANDBOX_WABA_ID
    assert fake_meta.requests == []


@pytest.mark.parametrize("which", ["other-organization", "hidden"])
def test_a_number_the_caller_may_not_use_is_a_400(marketing_client, org, other_org, cloud, fake_meta, which):
    if which == "hidden":
        number = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    else:
        number = WhatsAppNumberFactory(organization=other_org)

    body = assert_error(create(marketing_client, seasonal_promotion(number_id=number.pk)), 400)

    assert body["errors"] == {"number_id": ["No such WhatsApp number in this organization."]}


def test_without_a_number_there_is_no_account_to_submit_to(marketing_client, fake_meta):
    body = assert_error(create(marketing_client, seasonal_promotion()), 400)

    assert body["errors"] == {
        "number_id": ["Connect a Cloud API number (or add a sandbox number) first: templates belong to its account."]
    }


def test_the_sandbox_approves_through_the_webhook_ingest(marketing_client, org, sandbox):
    response = create(marketing_client, seasonal_promotion())

    assert response.status_code == 201
    assert response.json()["status"] == "PENDING"  # as submitted; the review follows after the commit
    template = MessageTemplate.objects.get()
    assert (template.waba_id, template.status) == (SANDBOX_WABA_ID, "APPROVED")
    event = WebhookEvent.objects.get()
    assert (event.source, event.status, event.number_id) == ("sandbox", "processed", sandbox.pk)
    change = event.body["entry"][0]["changes"][0]
    assert change["field"] == "message_template_status_update"
    assert change["value"] == {
        "event": "APPROVED",
        "message_template_id": int(template.meta_id),
        "message_template_name": "seasonal_promotion",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "MARKETING",
    }
    assert list(AuditLog.objects.values_list("action", "data__to").order_by("id")) == [
        ("template.create", None),
        ("template.status", "APPROVED"),
    ]


def test_agents_do_not_create_templates(agent_client, cloud, fake_meta):
    assert_error(create(agent_client, seasonal_promotion()), 403)

    assert fake_meta.requests == []
    assert MessageTemplate.objects.count() == 0
