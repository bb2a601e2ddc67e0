"""The WAHA client against the fake WAHA: send translation, ids per engine, sessions, QR, pairing code, errors."""

import pytest

from messaging.providers import ProviderError, WahaConfig, WahaProvider, build_provider
from messaging.providers.waha import message_id_from, session_webhook
from tests.fakes.waha import QR_PNG, SCAN_QR_CODE, STARTING, WORKING

CHAT = "16505551234@c.us"


@pytest.fixture
def waha(fake_waha) -> WahaProvider:
    fake_waha.add_session("default")
    return WahaProvider(WahaConfig(session="default", api_key=fake_waha.api_key))


def test_config_defaults_to_the_waha_url_setting(fake_waha, settings):
    config = WahaConfig(api_key="k-secret")

    assert config.base_url == fake_waha.base_url == settings.WAHA_URL
    assert config.session == "default"
    assert "k-secret" not in repr(config)
    assert isinstance(build_provider(config), WahaProvider)


# --- sends -----------------------------------------------------------------------------------------------

SEND_CASES = {
    "text": (
        {"type": "text", "text": {"body": "Hi there!", "preview_url": False}},
        "sendText",
        {"session": "default", "chatId": CHAT, "text": "Hi there!", "linkPreview": False},
    ),
    "text_reply": (
        {"type": "text", "text": {"body": "Sure"}, "context": {"message_id": "false_16505551234@c.us_AAAA"}},
        "sendText",
        {
            "session": "default",
            "chatId": CHAT,
            "reply_to": "false_16505551234@c.us_AAAA",
            "text": "Sure",
            "linkPreview": False,
        },
    ),
    "image": (
        {"type": "image", "image": {"link": "https://example.com/a/aloe.png", "caption": "Aloe"}},
        "sendImage",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"url": "https://example.com/a/aloe.png", "mimetype": "image/png", "filename": "aloe.png"},
            "caption": "Aloe",
        },
    ),
    "document": (
        {"type": "document", "document": {"link": "https://example.com/f?id=7", "filename": "invoice.pdf"}},
        "sendFile",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {
                "url": "https://example.com/f?id=7",
                "mimetype": "application/octet-stream",
                "filename": "invoice.pdf",
            },
        },
    ),
    "video": (
        {"type": "video", "video": {"link": "https://example.com/tour.mp4"}},
        "sendVideo",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"url": "https://example.com/tour.mp4", "mimetype": "video/mp4", "filename": "tour.mp4"},
        },
    ),
    "voice": (
        {"type": "audio", "audio": {"link": "https://example.com/note.ogg"}},
        "sendVoice",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"url": "https://example.com/note.ogg", "mimetype": "audio/ogg", "filename": "note.ogg"},
        },
    ),
    "audio_as_file": (
        {"type": "audio", "audio": {"link": "https://example.com/song.mp3"}},
        "sendFile",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"url": "https://example.com/song.mp3", "mimetype": "audio/mpeg", "filename": "song.mp3"},
        },
    ),
    "inline_data": (
        {"type": "image", "image": {"data": "iVBORw0KGgo=", "mime_type": "image/png", "filename": "dot.png"}},
        "sendImage",
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"data": "iVBORw0KGgo=", "mimetype": "image/png", "filename": "dot.png"},
        },
    ),
    "location": (
        {"type": "location", "location": {"latitude": "37.44", "longitude": "-122.16", "name": "Philz Coffee"}},
        "sendLocation",
        {"session": "default", "chatId": CHAT, "latitude": 37.44, "longitude": -122.16, "title": "Philz Coffee"},
    ),
}


@pytest.mark.parametrize(("message", "endpoint", "expected"), SEND_CASES.values(), ids=SEND_CASES.keys())
def test_it_translates_each_message_to_wahas_endpoint(fake_waha, waha, message, endpoint, expected, fake_dns):
    result = waha.send("+1 650 555 1234", message)

    assert fake_waha.sends() == [expected]
    assert fake_waha.find_requests(method="POST")[0].path == f"/api/{endpoint}"
    assert fake_waha.find_requests()[0].headers["X-Api-Key"] == "test-waha-key"
    assert result.provider_message_id in fake_waha.sent
    assert result.provider_message_id.startswith(f"true_{CHAT}_3EB0")


def test_it_sends_a_reaction_with_put(fake_waha, waha):
    result = waha.send(
        CHAT, {"type": "reaction", "reaction": {"message_id": "false_16505551234@c.us_AAAA", "emoji": "👍"}}
    )

    [request] = fake_waha.find_requests()
    assert (request.method, request.path) == ("PUT", "/api/reaction")
    assert request.json == {"session": "default", "messageId": "false_16505551234@c.us_AAAA", "reaction": "👍"}
    assert result.provider_message_id is None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "template", "template": {"name": "welcome", "language": {"code": "en_US"}}},
        {"type": "interactive", "interactive": {"type": "button", "body": {"text": "?"}, "action": {}}},
        {"type": "sticker", "sticker": {"link": "https://example.com/s.webp"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ann"}}]},
        {"type": "image", "image": {"id": "1479537139650973"}},
    ],
    ids=["template", "interactive", "sticker", "contacts", "media-by-id"],
)
def test_it_refuses_what_whatsapp_web_cannot_send(fake_waha, waha, message):
    with pytest.raises(ProviderError) as caught:
        waha.send(CHAT, message)

    assert (caught.value.title, caught.value.retryable, caught.value.code) == ("Unsupported by WAHA", False, None)
    assert fake_waha.requests == []


@pytest.mark.parametrize(
    ("engine", "expected_prefix"),
    [
        ("WEBJS", "true_16505551234@c.us_3EB0"),
        ("NOWEB", "true_16505551234@c.us_3EB0"),
        ("GOWS", "true_16505551234@c.us_"),
    ],
)
def test_it_extracts_the_message_id_from_every_engines_answer(fake_waha, waha, engine, expected_prefix):
    fake_waha.engine = engine

    result = waha.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    assert result.provider_message_id in fake_waha.sent
    assert result.provider_message_id.startswith(expected_prefix)


def test_it_tolerates_an_empty_send_answer(fake_waha, waha):
    fake_waha.empty_send_body = True

    result = waha.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    assert (result.provider_message_id, result.raw) == (None, None)
    assert len(fake_waha.sent) == 1


def test_message_id_extraction_is_defensive():
    assert message_id_from({"id": {"_serialized": "true_1@c.us_A"}}, "1@c.us") == "true_1@c.us_A"
    assert message_id_from({"key": {"remoteJid": "1@s.whatsapp.net", "fromMe": True, "id": "B"}}, "1@c.us") == (
        "true_1@c.us_B"
    )
    assert message_id_from({"id": "true_1@c.us_C"}, "1@c.us") == "true_1@c.us_C"
    assert message_id_from(None, "1@c.us") is None
    assert message_id_from({"unexpected": 1}, "1@c.us") is None


def test_mark_read_sends_seen_for_the_chat_in_the_id(fake_waha, waha):
    waha.mark_read("false_16505551234@c.us_AAAA")

    assert fake_waha.sends("sendSeen") == [
        {"session": "default", "chatId": CHAT, "messageIds": ["false_16505551234@c.us_AAAA"]}
    ]


# --- errors ------------------------------------------------------------------------------------------------


def test_sending_through_a_session_that_is_not_working_is_wahas_422(fake_waha, waha):
    fake_waha.set_session_status("default", SCAN_QR_CODE)

    with pytest.raises(ProviderError) as caught:
        waha.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    error = caught.value
    assert (error.http_status, error.title, error.retryable) == (422, "Session not ready", False)
    assert error.raw == {
        "error": "Session status is not as expected. Try again later or restart the session",
        "session": "default",
        "status": "SCAN_QR_CODE",
        "expected": ["WORKING"],
    }


def test_a_session_still_starting_is_retryable(fake_waha, waha):
    fake_waha.set_session_status("default", STARTING)

    with pytest.raises(ProviderError) as caught:
        waha.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.http_status, caught.value.retryable) == (422, True)


def test_an_unknown_session_is_a_permanent_404(fake_waha):
    provider = WahaProvider(WahaConfig(session="ghost", api_key=fake_waha.api_key))

    with pytest.raises(ProviderError) as caught:
        provider.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.http_status, caught.value.title, caught.value.retryable) == (404, "Not found", False)
    assert caught.value.raw["error"] == "Not Found"


def test_a_wrong_api_key_is_a_permanent_401(fake_waha):
    fake_waha.add_session("default")
    provider = WahaProvider(WahaConfig(api_key="wrong"))

    with pytest.raises(ProviderError) as caught:
        provider.send(CHAT, {"type": "text", "text": {"body": "hi"}})

    assert (caught.value.http_status, caught.value.title, caught.value.retryable) == (401, "Unauthorized", False)
    assert caught.value.raw == {"message": "Unauthorized", "statusCode": 401}


def test_without_a_key_of_its_own_it_sends_the_hubs_waha_api_key(fake_waha, settings):
    settings.WAHA_API_KEY = fake_waha.api_key
    fake_waha.add_session("default")

    hub_server = WahaProvider(WahaConfig())
    same_server_with_a_slash = WahaProvider(WahaConfig(base_url=fake_waha.url + "/"))

    assert (hub_server.session_status(), same_server_with_a_slash.session_status()) == (WORKING, WORKING)
    assert [r.headers.get("X-Api-Key") for r in fake_waha.find_requests()] == [fake_waha.api_key] * 2


def test_the_configs_own_key_wins_over_the_hubs(fake_waha, settings):
    settings.WAHA_API_KEY = "hub-key"
    fake_waha.add_session("default")

    assert WahaProvider(WahaConfig(api_key=fake_waha.api_key)).session_status() == WORKING
    assert fake_waha.find_requests()[0].headers.get("X-Api-Key") == fake_waha.api_key


def test_the_hubs_key_never_goes_to_another_waha_server(fake_waha, settings):
    settings.WAHA_URL = "http://127.0.0.1:9"  # the hub's own server is elsewhere
    settings.WAHA_API_KEY = "hub-key"
    fake_waha.api_key = None  # this one asks for no key
    fake_waha.add_session("default")

    assert WahaProvider(WahaConfig(base_url=fake_waha.url)).session_status() == WORKING
    assert "X-Api-Key" not in fake_waha.find_requests()[0].headers


# --- sessions ------------------------------------------------------------------------------------------------


def test_a_session_goes_from_creation_to_working(fake_waha):
    waha = WahaProvider(WahaConfig(session="shop", api_key=fake_waha.api_key))

    created = waha.create_session(config={"webhooks": [session_webhook("http://127.0.0.1:1/hook", hmac_key="h-key")]})

    assert created["name"] == "shop"
    assert fake_waha.find_requests(method="POST")[0].json == {
        "name": "shop",
        "start": True,
        "config": {
            "webhooks": [
                {
                    "url": "http://127.0.0.1:1/hook",
                    "events": ["message", "message.ack", "session.status"],
                    "hmac": {"key": "h-key"},
                }
            ]
        },
    }
    assert waha.session_status() == SCAN_QR_CODE
    assert waha.qr_png() == QR_PNG
    assert waha.request_pairing_code("+1 650 555 1234") == "ABCD-ABCD"
    assert fake_waha.find_requests(path="/api/shop/auth/request-code")[0].json == {"phoneNumber": "16505551234"}

    fake_waha.scan_qr("shop")

    assert waha.session_status() == WORKING
    assert waha.me() == {"id": "79111111111@c.us", "pushName": "WAHA"}
    assert waha.stop_session()["status"] == "STOPPED"
    assert waha.start_session()["status"] == STARTING
    assert waha.session_status() == WORKING  # still paired: no new QR
    assert waha.logout_session()["status"] == STARTING
    assert waha.session_status() == SCAN_QR_CODE
    assert waha.restart_session()["status"] == STARTING
    waha.delete_session()
    with pytest.raises(ProviderError) as caught:
        waha.get_session()
    assert caught.value.http_status == 404


def test_update_session_puts_the_full_config_and_waha_restarts_the_session(fake_waha, waha):
    config = {"webhooks": [session_webhook("http://127.0.0.1:1/hook", hmac_key="h-key")], "metadata": {"hub": "1"}}

    answer = waha.update_session(config)

    [put] = fake_waha.find_requests(method="PUT")
    assert (put.path, put.json) == (
        "/api/sessions/default",
        {
            "config": {
                "webhooks": [
                    {
                        "url": "http://127.0.0.1:1/hook",
                        "events": ["message", "message.ack", "session.status"],
                        "hmac": {"key": "h-key"},
                    }
                ],
                "metadata": {"hub": "1"},
            }
        },
    )
    assert answer["status"] == STARTING
    assert fake_waha.session("default").config == config


def test_updating_a_session_waha_does_not_know_is_a_permanent_404(fake_waha):
    provider = WahaProvider(WahaConfig(session="ghost", api_key=fake_waha.api_key))

    with pytest.raises(ProviderError) as caught:
        provider.update_session({"webhooks": []})

    assert (caught.value.http_status, caught.value.retryable) == (404, False)
    assert "ghost" not in fake_waha.sessions


def test_the_qr_of_a_working_session_is_a_422(fake_waha, waha):
    with pytest.raises(ProviderError) as caught:
        waha.qr_png()

    assert caught.value.http_status == 422
    assert caught.value.raw["expected"] == ["SCAN_QR_CODE"]


# --- media ------------------------------------------------------------------------------------------------


def test_it_fetches_inbound_media_with_the_api_key(fake_waha, waha):
    payload = fake_waha.send_inbound("16505551234", "Storefront", media=b"\xff\xd8jpeg-bytes", mimetype="image/jpeg")

    fetched = waha.fetch_media(payload["media"]["url"])

    assert (fetched.content, fetched.mime_type, fetched.size) == (b"\xff\xd8jpeg-bytes", "image/jpeg", 12)
    assert fake_waha.find_requests(method="GET")[0].headers["X-Api-Key"] == "test-waha-key"


def test_fetch_media_only_ever_talks_to_the_configured_waha(fake_waha, waha):
    payload = fake_waha.send_inbound("16505551234", "x", media=b"abc", mimetype="image/png")
    elsewhere = payload["media"]["url"].replace(fake_waha.url, "http://attacker.invalid:9")

    assert waha.fetch_media(elsewhere).content == b"abc"  # the path, against base_url: the key stays home
    with pytest.raises(ProviderError):
        waha.fetch_media("http://attacker.invalid/steal")


def test_waha_has_no_media_upload(fake_waha, waha):
    with pytest.raises(ProviderError) as caught:
        waha.upload_media(b"abc", "image/png", "a.png")

    assert (caught.value.title, caught.value.retryable) == ("Unsupported by WAHA", False)
