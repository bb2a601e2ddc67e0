"""The Cloud API client against the fake Graph API: exact request bodies, error mapping, media, templates."""

import hashlib
import socket

import pytest

from messaging.providers import CloudConfig, CloudProvider, ProviderError, build_provider
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID, ERRORS

TO = "+16505551234"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def cloud(fake_meta) -> CloudProvider:
    config = CloudConfig(phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID, access_token="EAAG-token")
    return CloudProvider(config)


def envelope(message: dict, to: str = TO) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}


# --- sends -------------------------------------------------------------------------------------------------

SEND_CASES = {
    "text": {"type": "text", "text": {"body": "hi", "preview_url": False}},
    "image_by_id": {"type": "image", "image": {"id": "1479537139650973", "caption": "The best succulent ever?"}},
    "image_by_link": {"type": "image", "image": {"link": "https://example.com/aloe.png"}},
    "audio": {"type": "audio", "audio": {"id": "1013859600285441"}},
    "video": {"type": "video", "video": {"link": "https://example.com/v.mp4", "caption": "Tour"}},
    "document": {
        "type": "document",
        "document": {"id": "1376223850470843", "filename": "invoice.pdf", "caption": "Q3"},
    },
    "sticker": {"type": "sticker", "sticker": {"id": "798882015472548"}},
    "location": {
        "type": "location",
        "location": {"latitude": "37.44216251868683", "longitude": "-122.16153582049394", "name": "Philz Coffee"},
    },
    "contacts": {
        "type": "contacts",
        "contacts": [{"name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"}, "phones": []}],
    },
    "interactive_buttons": {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Reschedule?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                    {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
                ]
            },
        },
    },
    "interactive_list": {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Choose Shipping Option"},
            "body": {"text": "Which shipping option do you prefer?"},
            "action": {
                "button": "Shipping Options",
                "sections": [{"title": "I want it ASAP!", "rows": [{"id": "priority_express", "title": "Express"}]}],
            },
        },
    },
    "template": {
        "type": "template",
        "template": {
            "name": "order_confirmation",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Jessica"}]}
            ],
        },
    },
    "reply_with_context": {
        "type": "text",
        "text": {"body": "Sure!"},
        "context": {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="},
    },
    "callback_data": {"type": "text", "text": {"body": "tracked"}, "biz_opaque_callback_data": "campaign:42"},
}


@pytest.mark.parametrize("message", SEND_CASES.values(), ids=SEND_CASES.keys())
def test_it_sends_every_message_type_in_metas_envelope(fake_meta, cloud, message):
    fake_meta.open_window(TO)

    result = cloud.send(TO, message)

    assert fake_meta.sends() == [envelope(message)]
    request = fake_meta.find_requests(method="POST")[0]
    assert request.path == f"/v23.0/{DEFAULT_PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == "Bearer EAAG-token"
    assert result.provider_message_id.startswith("wamid.")
    assert list(fake_meta.sent) == [result.provider_message_id]
    assert result.raw == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": TO, "wa_id": "16505551234"}],
        "messages": [{"id": result.provider_message_id}],
    }


def test_it_sends_a_reaction_to_a_received_message(fake_meta, cloud):
    inbound = fake_meta.send_inbound("16505551234", text="Love it", queue=False)
    message = {"type": "reaction", "reaction": {"message_id": inbound["id"], "emoji": "\U0001f600"}}

    cloud.send(TO, message)

    assert fake_meta.sends() == [envelope(message)]
    [payload] = fake_meta.pending_payloads  # reactions only ever get `sent`
    assert payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] == "sent"


def test_it_normalises_the_recipient_to_e164_with_a_plus(fake_meta, cloud):
    cloud.send("16505551234", {"type": "text", "text": {"body": "hi"}})
    cloud.send("+1 (650) 555-1234", {"type": "text", "text": {"body": "hi"}})

    assert [s["to"] for s in fake_meta.sends()] == [TO, TO]


def test_it_sends_to_a_business_scoped_user_id_as_recipient(fake_meta, cloud):
    cloud.send("US.13491208655302741918", {"type": "text", "text": {"body": "hi"}})

    sent = fake_meta.last_send()
    assert sent["recipient"] == "US.13491208655302741918"
    assert "to" not in sent


def test_it_refuses_a_message_without_its_type_object_before_any_request(fake_meta, cloud):
    with pytest.raises(ProviderError) as caught:
        cloud.send(TO, {"type": "text"})

    assert caught.value.retryable is False
    assert fake_meta.requests == []


def test_config_defaults_to_the_graph_url_setting(fake_meta, settings):
    config = CloudConfig(phone_number_id="1", access_token="EAAG-secret")

    assert config.graph_url == fake_meta.base_url == settings.WHATSAPP_GRAPH_URL
    assert "EAAG-secret" not in repr(config)
    assert isinstance(build_provider(config), CloudProvider)


# --- errors --------------------------------------------------------------------------------------------------

ERROR_CASES = [
    # code, HTTP status Meta answers, retryable
    (100, 400, False),
    (131008, 400, False),
    (131009, 400, False),
    (132000, 400, False),
    (132012, 400, False),
    (131030, 400, False),
    (130429, 400, True),
    (131056, 400, True),
    (80007, 400, True),
    (190, 401, False),
    (132001, 404, False),
    (131000, 500, True),
    (131016, 500, True),
    (2, 503, True),
    (133004, 503, True),
]


@pytest.mark.parametrize(("code", "http_status", "retryable"), ERROR_CASES, ids=[str(c[0]) for c in ERROR_CASES])
def test_each_scripted_error_becomes_a_provider_error(fake_meta, cloud, code, http_status, retryable):
    fake_meta.fail_next(code, to=TO)

    with pytest.raises(ProviderError) as caught:
        cloud.send(TO, {"type": "text", "text": {"body": "hi"}})

    error = caught.value
    title, details, _ = ERRORS[code]
    assert (error.code, error.http_status, error.retryable) == (code, http_status, retryable)
    assert error.title == title
    assert error.detail == details
    assert error.raw["error"]["message"] == f"(#{code}) {title}"
    assert error.raw["error"]["error_data"] == {"messaging_product": "whatsapp", "details": details}


def test_a_scripted_error_hits_only_the_next_n_sends_to_that_recipient(fake_meta, cloud):
    fake_meta.fail_next(130429, times=2, to=TO)
    text = {"type": "text", "text": {"body": "hi"}}

    cloud.send("+16505550000", text)
    for _ in range(2):
        with pytest.raises(ProviderError):
            cloud.send(TO, text)
    cloud.send(TO, text)

    assert len(fake_meta.sent) == 2


def test_validation_errors_from_the_fake_are_permanent(fake_meta, cloud):
    with pytest.raises(ProviderError) as caught:
        cloud.send(TO, {"type": "text", "text": {"body": "x" * 4097}})

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (100, 400, False)
    assert caught.value.detail == "Param text['body'] must be at most 4096 characters long."


def test_an_unknown_token_is_a_permanent_190(fake_meta, cloud):
    fake_meta.tokens = {"some-other-token"}

    with pytest.raises(ProviderError) as caught:
        cloud.send(TO, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (190, 401, False)
    assert caught.value.title == "Invalid OAuth access token - Cannot parse access token"


def test_a_bare_5xx_from_a_proxy_is_retryable_and_its_body_is_kept_for_code_only(fake_meta, cloud):
    fake_meta.fail_next_http(502, body=b"<html>Bad Gateway</html>")

    with pytest.raises(ProviderError) as caught:
        cloud.send(TO, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (None, 502, True)
    assert (caught.value.title, caught.value.detail) == (
        "HTTP 502",
        "The Graph API answered without an error description.",
    )
    assert caught.value.raw == "<html>Bad Gateway</html>"


def test_a_timeout_is_retryable(fake_meta):
    provider = CloudProvider(CloudConfig(phone_number_id="1", access_token="t", timeout=(1.0, 0.2)))
    fake_meta.delay_next(0.6)

    with pytest.raises(ProviderError) as caught:
        provider.send(TO, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.code, caught.value.title, caught.value.retryable) == (None, "Timeout", True)


def test_a_refused_connection_is_retryable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = CloudProvider(
        CloudConfig(phone_number_id="1", access_token="t", graph_url=f"http://127.0.0.1:{port}/v23.0")
    )

    with pytest.raises(ProviderError) as caught:
        provider.send(TO, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.code, caught.value.title, caught.value.retryable) == (None, "Connection error", True)


# --- mark read ----------------------------------------------------------------------------------------------


def test_mark_read_posts_metas_read_body(fake_meta, cloud):
    cloud.mark_read("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA")
    cloud.mark_read("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", typing=True)

    assert fake_meta.mark_reads() == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
        },
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
            "typing_indicator": {"type": "text"},
        },
    ]
    assert fake_meta.sent == {}


# --- media -----------------------------------------------------------------------------------------------


def test_media_upload_and_fetch_round_trip(fake_meta, cloud):
    media_id = cloud.upload_media(PNG, "image/png", "aloe.png")

    [upload] = fake_meta.find_requests(method="POST", path_endswith="/media")
    assert upload.path == f"/v23.0/{DEFAULT_PHONE_NUMBER_ID}/media"
    assert upload.form == {"messaging_product": "whatsapp", "type": "image/png"}
    assert (upload.files["file"].filename, upload.files["file"].content_type) == ("aloe.png", "image/png")
    assert upload.files["file"].content == PNG

    content, mime_type, sha256, size = cloud.fetch_media(media_id)

    assert (content, mime_type, sha256, size) == (PNG, "image/png", hashlib.sha256(PNG).hexdigest(), len(PNG))
    download = fake_meta.find_requests(path="/whatsapp_business/attachments/")[0]
    assert download.headers["Authorization"] == "Bearer EAAG-token"
    assert fake_meta.find_requests(method="GET")[0].query == {"phone_number_id": DEFAULT_PHONE_NUMBER_ID}


def test_it_fetches_media_a_user_sent(fake_meta, cloud):
    voice = b"OggS" + b"\x00" * 300
    message = fake_meta.send_inbound(
        "16505551234", {"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "voice": True}}, media=voice
    )

    fetched = cloud.fetch_media(message["audio"]["id"])

    assert fetched.content == voice
    assert fetched.mime_type == "audio/ogg; codecs=opus"
    assert fetched.size == 304


def test_it_refuses_media_whose_sha256_does_not_match(fake_meta, cloud):
    media_id = cloud.upload_media(PNG, "image/png", "aloe.png")
    fake_meta.tamper_media(media_id, PNG[:-1] + b"X")  # same size, other bytes

    with pytest.raises(ProviderError) as caught:
        cloud.fetch_media(media_id)

    assert (caught.value.title, caught.value.retryable) == ("Media integrity check failed", False)
    assert caught.value.detail == "The downloaded bytes do not match the sha256 Meta reported."


def test_it_refuses_media_whose_size_does_not_match(fake_meta, cloud):
    media_id = cloud.upload_media(PNG, "image/png", "aloe.png")
    fake_meta.tamper_media(media_id, PNG + b"extra")

    with pytest.raises(ProviderError) as caught:
        cloud.fetch_media(media_id)

    assert caught.value.detail == f"Meta reported {len(PNG)} bytes, the download had {len(PNG) + 5}."


def test_it_refuses_media_over_the_limit_before_downloading(fake_meta, cloud):
    media_id = cloud.upload_media(PNG, "image/png", "aloe.png")

    with pytest.raises(ProviderError) as caught:
        cloud.fetch_media(media_id, max_bytes=100)

    assert (caught.value.title, caught.value.retryable) == ("Media too large", False)
    assert fake_meta.find_requests(path="/whatsapp_business/attachments/") == []


def test_an_expired_media_url_is_retryable(fake_meta, cloud):
    media_id = cloud.upload_media(PNG, "image/png", "aloe.png")
    fake_meta.fail_next_http(404, endpoint="download", body=b"")

    with pytest.raises(ProviderError) as caught:
        cloud.fetch_media(media_id)

    assert (caught.value.title, caught.value.http_status, caught.value.retryable) == ("Media URL expired", 404, True)
    assert cloud.fetch_media(media_id).content == PNG  # the retry gets a fresh URL


def test_an_unknown_media_id_is_a_permanent_error(fake_meta, cloud):
    with pytest.raises(ProviderError) as caught:
        cloud.fetch_media("999")

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (100, 400, False)


@pytest.mark.parametrize(
    ("content", "mime_type", "title"),
    [
        (b"GIF89a", "image/gif", "Unsupported media type"),
        (b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg", "Media too large"),
        (b"RIFF" * 200_000, "image/webp", "Media too large"),
    ],
    ids=["gif", "jpeg-over-5mb", "sticker-over-500kb"],
)
def test_it_refuses_media_meta_would_refuse_without_uploading(fake_meta, cloud, content, mime_type, title):
    with pytest.raises(ProviderError) as caught:
        cloud.upload_media(content, mime_type, "file")

    assert (caught.value.title, caught.value.retryable) == (title, False)
    assert fake_meta.requests == []


def test_a_mime_type_mismatch_is_metas_131053(fake_meta, cloud):
    fake_meta.fail_next(131053, endpoint="media")

    with pytest.raises(ProviderError) as caught:
        cloud.upload_media(PNG, "image/png", "aloe.png")

    assert (caught.value.code, caught.value.title, caught.value.retryable) == (131053, "Media upload error", False)


# --- templates --------------------------------------------------------------------------------------------


def test_it_lists_templates_page_by_page(fake_meta, cloud):
    names = [f"promo_{i}" for i in range(7)]
    for name in names:
        fake_meta.add_template(name)

    pages, after = [], None
    while True:
        page = cloud.list_templates(after=after, limit=3)
        pages.append([t["name"] for t in page.items])
        after = page.after
        if after is None:
            break

    assert pages == [names[0:3], names[3:6], names[6:7]]
    requests = fake_meta.find_requests(path=f"/v23.0/{DEFAULT_WABA_ID}/message_templates")
    assert [r.query.get("limit") for r in requests] == ["3", "3", "3"]
    assert "after" not in requests[0].query
    assert requests[1].query["after"] != requests[2].query["after"]


def test_it_creates_a_template_and_meta_reviews_it(fake_meta, cloud):
    components = [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} shipped.", "example": {"body_text": [["Ann", "A-1"]]}}
    ]

    answer = cloud.create_template(name="order_shipped", language="en_US", category="UTILITY", components=components)

    assert answer == {"id": answer["id"], "status": "PENDING", "category": "UTILITY"}
    [request] = fake_meta.find_requests(method="POST", path=f"/v23.0/{DEFAULT_WABA_ID}/message_templates")
    assert request.json == {
        "name": "order_shipped",
        "language": "en_US",
        "category": "UTILITY",
        "components": components,
    }
    [webhook] = fake_meta.pending_payloads
    assert webhook["entry"][0]["changes"][0] == {
        "value": {
            "event": "APPROVED",
            "message_template_id": int(answer["id"]),
            "message_template_name": "order_shipped",
            "message_template_language": "en_US",
            "reason": "NONE",
            "message_template_category": "UTILITY",
        },
        "field": "message_template_status_update",
    }


def test_creating_a_duplicate_template_is_a_permanent_error(fake_meta, cloud):
    fake_meta.add_template("welcome", language="en_US")

    with pytest.raises(ProviderError) as caught:
        cloud.create_template(
            name="welcome", language="en_US", category="MARKETING", components=[{"type": "BODY", "text": "Hi"}]
        )

    assert (caught.value.code, caught.value.title, caught.value.retryable) == (
        100,
        "Message Template Already Exists",
        False,
    )


def test_flow_management_errors_keep_meta_s_documented_description(fake_meta, cloud):
    """Meta's Flow errors: a 1390xx code's description is its `message`; code 100's ("Flow name is not unique") is
    its `error_user_title` under the generic "Invalid parameter"."""
    created = cloud.create_flow(name="Form", categories=["SURVEY"])

    with pytest.raises(ProviderError) as unpublishable:
        cloud.publish_flow(created["id"])
    with pytest.raises(ProviderError) as taken:
        cloud.create_flow(name="Form", categories=["SURVEY"])

    assert (unpublishable.value.code, unpublishable.value.title, unpublishable.value.detail) == (
        139002,
        "Publishing Flow with validation errors",
        "Fix the Flow JSON's validation errors before publishing.",
    )
    assert (taken.value.code, taken.value.title, taken.value.retryable) == (100, "Flow name is not unique", False)
    assert taken.value.raw["error"]["error_subcode"] == 4016019


def test_it_deletes_a_template_by_name_or_by_id(fake_meta, cloud):
    english = fake_meta.add_template("welcome", language="en_US")
    fake_meta.add_template("welcome", language="ar")

    cloud.delete_template("welcome", hsm_id=english["id"])

    assert [t["language"] for t in fake_meta.templates[DEFAULT_WABA_ID]] == ["ar"]
    cloud.delete_template("welcome")
    assert fake_meta.templates[DEFAULT_WABA_ID] == []
    queries = [r.query for r in fake_meta.find_requests(method="DELETE")]
    assert queries == [{"name": "welcome", "hsm_id": english["id"]}, {"name": "welcome"}]


def test_deleting_an_unknown_template_is_a_permanent_error(fake_meta, cloud):
    with pytest.raises(ProviderError) as caught:
        cloud.delete_template("nope")

    assert (caught.value.code, caught.value.title, caught.value.retryable) == (100, "Message Template Not Found", False)


def test_a_template_header_example_goes_through_the_resumable_upload_api(fake_meta, cloud):
    handle = cloud.upload_template_media(PNG, "image/png", "aloe.png")

    session, data = fake_meta.find_requests(method="POST")
    assert (session.path, session.query) == (
        f"/v23.0/{fake_meta.app_id}/uploads",
        {"file_name": "aloe.png", "file_length": str(len(PNG)), "file_type": "image/png"},
    )
    assert session.headers["Authorization"] == "Bearer EAAG-token"
    assert data.path.startswith("/v23.0/upload:") and set(data.query) == {"sig"}
    assert (data.headers["Authorization"], data.headers["file_offset"], data.body) == ("OAuth EAAG-token", "0", PNG)
    upload = fake_meta.uploaded(handle)
    assert (upload.app_id, upload.file_type, upload.content) == (fake_meta.app_id, "image/png", PNG)


def test_a_created_template_s_media_header_names_an_uploaded_handle(fake_meta, cloud):
    handle = cloud.upload_template_media(PNG, "image/png", "aloe.png")
    header = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}}

    created = cloud.create_template(
        name="aloe", language="en_US", category="MARKETING", components=[header, {"type": "BODY", "text": "New!"}]
    )
    with pytest.raises(ProviderError) as caught:
        cloud.create_template(
            name="fern",
            language="en_US",
            category="MARKETING",
            components=[{**header, "example": {"header_handle": ["4::made-up"]}}, {"type": "BODY", "text": "New!"}],
        )

    assert created["status"] == "PENDING"
    assert (caught.value.code, caught.value.retryable) == (100, False)


@pytest.mark.parametrize(
    ("mime_type", "app_id", "title"),
    [("image/webp", "584544743160774", "Unsupported media type"), ("image/png", "", "Missing app id")],
)
def test_a_header_example_meta_would_refuse_is_refused_unsent(fake_meta, mime_type, app_id, title):
    config = CloudConfig(phone_number_id="1", waba_id="2", access_token="t", app_id=app_id)

    with pytest.raises(ProviderError) as caught:
        CloudProvider(config).upload_template_media(PNG, mime_type, "x")

    assert (caught.value.title, caught.value.retryable) == (title, False)
    assert fake_meta.requests == []


def test_an_upload_for_another_app_is_refused_by_meta(fake_meta):
    config = CloudConfig(phone_number_id="1", waba_id="2", access_token="t", app_id="999")

    with pytest.raises(ProviderError) as caught:
        CloudProvider(config).upload_template_media(PNG, "image/png", "x")

    assert (caught.value.code, caught.value.retryable) == (100, False)


def test_template_calls_need_a_waba_id(fake_meta):
    provider = CloudProvider(CloudConfig(phone_number_id="1", access_token="t"))

    with pytest.raises(ProviderError) as caught:
        provider.list_templates()

    assert (caught.value.title, caught.value.retryable) == ("Missing waba_id", False)
    assert fake_meta.requests == []


def test_management_rate_limit_is_retryable(fake_meta, cloud):
    fake_meta.fail_next(80007, endpoint="templates")

    with pytest.raises(ProviderError) as caught:
        cloud.list_templates()

    assert (caught.value.code, caught.value.retryable) == (80007, True)
