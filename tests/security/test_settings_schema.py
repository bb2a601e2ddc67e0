"""Organization.settings has a schema (known keys, types, lengths; a 400 naming the key), the opt-out floor
(STOP, UNSUBSCRIBE and their Arabic equivalents) cannot be removed and always applies at ingest, and a row
written before the schema does not break ingest."""

import pytest

from accounts.models import AuditLog
from accounts.org_settings import KEYWORD_MAX_LENGTH, KEYWORDS_MAX, OPT_OUT_FLOOR, business_hours
from messaging.models import Contact, Message, WebhookEvent
from tests.assertions import assert_error
from tests.messaging.ingest_support import cloud_numbers, post_meta, text_message

ORGANIZATION = "/api/v1/organization"
FLOOR = list(OPT_OUT_FLOOR)


def _patch(client, value):
    return client.patch(ORGANIZATION, {"settings": value}, format="json")


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ({"colour": "green"}, "colour", "Unknown setting."),
        ({"TIMEZONE": "UTC"}, "TIMEZONE", "Unknown setting."),
        ({"timezone": 3}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"timezone": ["UTC"]}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"timezone": "../../etc/passwd"}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"timezone": ""}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"timezone": "utc"}, "timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh."),
        ({"locale": "fr"}, "locale", "Must be one of: en, ar."),
        ({"locale": True}, "locale", "Must be one of: en, ar."),
        ({"opt_out_keywords": "stop"}, "opt_out_keywords", "Must be a list of words."),
        ({"opt_out_keywords": {"0": "halt"}}, "opt_out_keywords", "Must be a list of words."),
        ({"opt_out_keywords": ["halt", 7]}, "opt_out_keywords", "Word 2: must be a string."),
        ({"opt_out_keywords": [None]}, "opt_out_keywords", "Word 1: must be a string."),
        ({"opt_out_keywords": [["halt"]]}, "opt_out_keywords", "Word 1: must be a string."),
        ({"opt_out_keywords": [""]}, "opt_out_keywords", "Word 1: must be text, not blank."),
        ({"opt_out_keywords": ["halt", " \t "]}, "opt_out_keywords", "Word 2: must be text, not blank."),
        ({"opt_out_keywords": ["ha\u0000lt"]}, "opt_out_keywords", "Word 1: must be text, not blank."),
        ({"opt_out_keywords": ["ha\nlt"]}, "opt_out_keywords", "Word 1: must be text, not blank."),
        (
            {"opt_out_keywords": ["x" * (KEYWORD_MAX_LENGTH + 1)]},
            "opt_out_keywords",
            f"Word 1: at most {KEYWORD_MAX_LENGTH} characters.",
        ),
        (
            {"opt_out_keywords": [f"w{n}" for n in range(KEYWORDS_MAX + 1)]},
            "opt_out_keywords",
            f"At most {KEYWORDS_MAX} words.",
        ),
        ({"opt_in_keywords": "start"}, "opt_in_keywords", "Must be a list of words."),
        ({"opt_in_keywords": [1.5]}, "opt_in_keywords", "Word 1: must be a string."),
        (
            {"opt_in_keywords": ["y" * (KEYWORD_MAX_LENGTH + 1)]},
            "opt_in_keywords",
            f"Word 1: at most {KEYWORD_MAX_LENGTH} characters.",
        ),
        (
            {"opt_in_keywords": ["resume", "STOP"]},
            "opt_in_keywords",
            "'stop' is an opt-out word: a word cannot opt in and out.",
        ),
        (
            {"opt_out_keywords": ["halt"], "opt_in_keywords": ["Halt"]},
            "opt_in_keywords",
            "'halt' is an opt-out word: a word cannot opt in and out.",
        ),
        *(
            ({"business_hours": value}, "business_hours", message)
            for value, message in [
                ([["09:00", "17:00"]], 'Must be an object of weekdays, e.g. {"mon": ["09:00", "17:00"]}.'),
                ("mon-fri 9-5", 'Must be an object of weekdays, e.g. {"mon": ["09:00", "17:00"]}.'),
                ({}, "Open at least one day (null removes business hours)."),
                ({"monday": ["09:00", "17:00"]}, "Unknown day 'monday': days are mon, tue, wed, thu, fri, sat, sun."),
                ({"Mon": ["09:00", "17:00"]}, "Unknown day 'Mon': days are mon, tue, wed, thu, fri, sat, sun."),
                ({"mon": None}, 'Monday: must be an opening interval of two times, e.g. ["09:00", "17:00"].'),
                ({"tue": "09:00-17:00"}, 'Tuesday: must be an opening interval of two times, e.g. ["09:00", "17:00"].'),
                ({"wed": ["09:00"]}, 'Wednesday: must be an opening interval of two times, e.g. ["09:00", "17:00"].'),
                (
                    {"thu": ["08:00", "12:00", "13:00", "17:00"]},
                    'Thursday: must be an opening interval of two times, e.g. ["09:00", "17:00"].',
                ),
                ({"fri": ["9:00", "17:00"]}, "Friday: times are HH:MM (24 hours), e.g. 09:00."),
                ({"sat": ["09:00", "24:00"]}, "Saturday: times are HH:MM (24 hours), e.g. 09:00."),
                ({"sun": ["09:00", 17]}, "Sunday: times are HH:MM (24 hours), e.g. 09:00."),
                ({"mon": ["09:00:00", "17:00:00"]}, "Monday: times are HH:MM (24 hours), e.g. 09:00."),
                ({"mon": ["09:60", "17:00"]}, "Monday: times are HH:MM (24 hours), e.g. 09:00."),
                (
                    {"mon": ["09:00", "17:00"], "tue": ["17:00", "09:00"]},
                    ("Tuesday: closing time (09:00) must be after the opening time (17:00)."),
                ),
                (
                    {"wed": ["12:00", "12:00"]},
                    "Wednesday: closing time (12:00) must be after the opening time (12:00).",
                ),
            ]
        ),
    ],
)
def test_a_bad_setting_is_a_400_naming_the_key_and_changes_nothing(org, admin_client, value, key, message):
    org.settings = {"locale": "en"}
    org.save()

    body = assert_error(_patch(admin_client, value), 400)

    assert body["errors"] == {"settings": {key: [message]}}
    assert body["detail"] == f"settings.{key}: {message}"
    org.refresh_from_db()
    assert org.settings == {"locale": "en"}
    assert not AuditLog.objects.filter(action="organization.update").exists()


def test_every_bad_key_is_named_at_once(org, admin_client):
    body = assert_error(_patch(admin_client, {"colour": "green", "locale": "fr", "timezone": 1}), 400)

    assert body["errors"] == {
        "settings": {
            "colour": ["Unknown setting."],
            "locale": ["Must be one of: en, ar."],
            "timezone": ["Must be an IANA time zone name, e.g. Asia/Riyadh."],
        }
    }


@pytest.mark.parametrize("value", [["stop"], "stop", 1])
def test_settings_that_are_not_an_object_are_a_400(org, admin_client, value):
    body = assert_error(_patch(admin_client, value), 400)

    assert body["errors"] == {"settings": ["Must be an object."]}
    org.refresh_from_db()
    assert org.settings == {}


def test_every_key_at_its_limits_is_stored(org, admin_client):
    longest = "ي" * KEYWORD_MAX_LENGTH
    opt_in = [f"resume {n}" for n in range(KEYWORDS_MAX - 1)] + [longest]
    wanted = {
        "timezone": "Asia/Riyadh",
        "locale": "ar",
        "opt_out_keywords": [f"halt {n}" for n in range(KEYWORDS_MAX)],
        "opt_in_keywords": opt_in,
    }

    r = _patch(admin_client, wanted)

    assert r.status_code == 200, r.content
    expected = {**wanted, "opt_out_keywords": FLOOR + wanted["opt_out_keywords"]}
    assert r.json()["settings"] == expected
    org.refresh_from_db()
    assert org.settings == expected


def test_words_are_trimmed_and_kept_once(org, admin_client):
    r = _patch(admin_client, {"opt_in_keywords": [" Resume ", "RESUME", "resume", "go on"]})

    assert r.json()["settings"] == {"opt_in_keywords": ["Resume", "go on"]}


def test_null_removes_a_setting_and_its_default_applies_again(org, admin_client):
    org.settings = {"locale": "ar", "opt_in_keywords": ["resume"]}
    org.save()

    r = _patch(admin_client, {"opt_in_keywords": None, "timezone": None})

    assert r.json()["settings"] == {"locale": "ar"}


def test_values_stored_before_the_schema_are_dropped_on_the_next_update(org, admin_client):
    org.settings = {"colour": "green", "timezone": "Mars/Olympus_Mons", "locale": "ar", "opt_in_keywords": "resume"}
    org.save()

    r = _patch(admin_client, {"timezone": "UTC"})

    assert r.status_code == 200, r.content
    assert r.json()["settings"] == {"locale": "ar", "timezone": "UTC"}


def test_business_hours_are_stored_in_weekday_order_and_read_in_minutes(org, admin_client):
    hours = {"sun": ["10:00", "14:00"], "mon": ["00:00", "23:59"], "fri": ["08:30", "16:45"]}

    r = _patch(admin_client, {"business_hours": hours})

    assert r.status_code == 200, r.content
    assert list(r.json()["settings"]["business_hours"].items()) == [
        ("mon", ["00:00", "23:59"]),
        ("fri", ["08:30", "16:45"]),
        ("sun", ["10:00", "14:00"]),
    ]
    org.refresh_from_db()
    assert business_hours(org.settings) == {1: (0, 1439), 5: (510, 1005), 7: (600, 840)}
    assert _patch(admin_client, {"business_hours": None}).json()["settings"] == {}


@pytest.mark.parametrize(
    "saved",
    [
        None,
        {},
        {"business_hours": None},
        {"business_hours": {}},
        {"business_hours": ["09:00", "17:00"]},
        {"business_hours": {"mon": ["09:00", "17:00"], "tue": ["18:00", "09:00"]}},  # one bad day: all unset
        {"business_hours": {"mon": ["09:00", "17:00"], "xyz": ["09:00", "17:00"]}},
    ],
)
def test_business_hours_of_the_wrong_shape_read_as_unset(saved):
    assert business_hours(saved) == {}


# --- the opt-out floor ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "stored"),
    [
        (["halt"], [*FLOOR, "halt"]),
        ([], FLOOR),
        (["STOP", "halt"], [*FLOOR[1:], "STOP", "halt"]),
        (["إيقاف"], [word for word in FLOOR if word != "إيقاف"] + ["إيقاف"]),
    ],
    ids=["own-word", "empty", "floor-word-in-capitals", "arabic-floor-word"],
)
def test_the_floor_cannot_be_removed_from_the_opt_out_words(org, admin_client, words, stored):
    r = _patch(admin_client, {"opt_out_keywords": words})

    assert r.status_code == 200, r.content
    assert r.json()["settings"]["opt_out_keywords"] == stored


@pytest.fixture
def meta_number(org):
    return cloud_numbers(org)[0]


def _customer_writes(client, org, text: str, n: int = 1) -> Contact:
    """A customer's text arrives through Meta's webhook and is ingested; their contact."""
    response = post_meta(client, org.pk, text_message(f"wamid.FLOOR{n:04d}", text, timestamp=1750000000 + n))
    assert response.status_code == 200
    assert set(WebhookEvent.objects.for_org(org).values_list("status", "last_error")) == {("processed", "")}
    return Contact.objects.for_org(org).get(wa_id="16505551234")


@pytest.mark.parametrize("text", ["STOP", "unsubscribe", " إيقاف ", "إلغاء الاشتراك", "الغاء الاشتراك", "توقف"])
def test_the_floor_always_opts_out_at_ingest_whatever_the_organizations_list(client, org, meta_number, text):
    # Written straight to the row: no list, however it came to be, removes the floor.
    org.settings = {"opt_out_keywords": ["halt"], "opt_in_keywords": ["resume"]}
    org.save()

    contact = _customer_writes(client, org, text)

    assert contact.opted_out is True
    assert Message.objects.get().text == text


def test_an_organizations_own_word_opts_out_beside_the_floor(client, org, meta_number, admin_client):
    assert _patch(admin_client, {"opt_out_keywords": ["Halt"]}).status_code == 200

    assert _customer_writes(client, org, "halt").opted_out is True


@pytest.mark.parametrize(
    "legacy",
    [
        ["stop"],
        "stop",
        {"opt_out_keywords": "halt", "opt_in_keywords": {"resume": True}},
        {"opt_out_keywords": [1, None, {"x": 1}, ["nested"], ""], "opt_in_keywords": None},
        {"opt_out_keywords": None, "timezone": 12, "locale": ["en"], "unknown": {"deep": [1, 2]}},
    ],
    ids=["a-list", "a-string", "wrong-types", "wrong-items", "nulls-and-junk"],
)
def test_a_legacy_bad_value_in_the_database_does_not_break_ingest(client, org, meta_number, legacy):
    org.settings = legacy
    org.save()

    contact = _customer_writes(client, org, "STOP")

    assert contact.opted_out is True
    assert Message.objects.get().text == "STOP"
    opted_in = _customer_writes(client, org, "start", n=2)  # the default opt-in words read past the junk
    assert opted_in.opted_out is False
