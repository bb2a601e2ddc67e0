"""Organization.settings: the schema every write checks, and the readers every use goes through.

    timezone           an IANA time zone name ("Asia/Riyadh")
    locale             a language of the product ("en", "ar")
    opt_out_keywords   words that, as a whole inbound message, opt a contact out of marketing
    opt_in_keywords    words that opt a contact back in
    sign_in            how members sign in: {"require_google": bool (password and magic-link sign-in refused),
                       "allowed_domains": [e-mail domains] (members and invitations outside them refused; [] = any)}
    require_admin_two_factor  true: its admins must use two-step sign-in (accounts.two_factor) to act as admins
    business_hours     per ISO weekday ("mon" .. "sun"), one opening interval ["09:00", "17:00"] of the organization's
                       time zone (open before close, in the same day); a day left out is closed

The readers are defensive: a row written before the schema (or by hand) must not break ingest, so a value of the
wrong shape reads as the default. The opt-out floor (STOP, UNSUBSCRIBE and their Arabic equivalents) cannot be
removed: it is added to any list an organization sets, and applied at ingest whatever a row holds.
"""

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings as django_settings
from django.utils.translation import gettext, gettext_lazy

from whatsapp_hub.errors import ServiceError

KEYWORD_MAX_LENGTH = 64
KEYWORDS_MAX = 50
# Compliance words: a customer who sends one of these is opted out, whatever the organization's own list says.
OPT_OUT_FLOOR = ("stop", "unsubscribe", "إيقاف", "ايقاف", "توقف", "إلغاء الاشتراك", "الغاء الاشتراك")
DEFAULT_OPT_OUT_KEYWORDS = (*OPT_OUT_FLOOR, "stop all", "cancel")
DEFAULT_OPT_IN_KEYWORDS = ("start", "subscribe", "unstop", "اشتراك", "ابدأ")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: "mon" is isoweekday 1
WEEKDAY_NAMES = {
    "mon": gettext_lazy("Monday"),
    "tue": gettext_lazy("Tuesday"),
    "wed": gettext_lazy("Wednesday"),
    "thu": gettext_lazy("Thursday"),
    "fri": gettext_lazy("Friday"),
    "sat": gettext_lazy("Saturday"),
    "sun": gettext_lazy("Sunday"),
}
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # HH:MM, 24 hours


def fold_keyword(text: str) -> str:
    """How keywords and inbound messages are compared: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


_FLOOR = frozenset(fold_keyword(word) for word in OPT_OUT_FLOOR)


@cache
def time_zones() -> frozenset[str]:
    """The IANA names of this machine's time zone database."""
    return frozenset(available_timezones())


def locales() -> list[str]:
    return [code for code, _ in django_settings.LANGUAGES]


# --- the schema -----------------------------------------------------------------------------------------


class _Invalid(Exception):
    """What is wrong with one setting's value (the message an admin reads)."""


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in time_zones():
        raise _Invalid(gettext("Must be an IANA time zone name, e.g. Asia/Riyadh."))
    return value


def _locale(value: Any) -> str:
    if not isinstance(value, str) or value not in locales():
        raise _Invalid(gettext("Must be one of: %(values)s.") % {"values": ", ".join(locales())})
    return value


def _is_text(word: str) -> bool:
    # Control characters and lone surrogates: nothing a customer types, and PostgreSQL stores neither NUL nor
    # surrogates.
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in word)


def _keywords(value: Any) -> list[str]:
    """The words trimmed, each once (compared as inbound messages are)."""
    if not isinstance(value, list):
        raise _Invalid(gettext("Must be a list of words."))
    if len(value) > KEYWORDS_MAX:
        raise _Invalid(gettext("At most %(count)d words.") % {"count": KEYWORDS_MAX})
    words: list[str] = []
    seen: set[str] = set()
    for position, word in enumerate(value, 1):
        if not isinstance(word, str):
            raise _Invalid(gettext("Word %(position)d: must be a string.") % {"position": position})
        word = word.strip()
        if not word or not _is_text(word):
            raise _Invalid(gettext("Word %(position)d: must be text, not blank.") % {"position": position})
        if len(word) > KEYWORD_MAX_LENGTH:
            raise _Invalid(
                gettext("Word %(position)d: at most %(count)d characters.")
                % {"position": position, "count": KEYWORD_MAX_LENGTH}
            )
        folded = fold_keyword(word)
        if folded not in seen:
            seen.add(folded)
            words.append(word)
    return words


def _opt_out_keywords(value: Any) -> list[str]:
    """The words, after the floor's words the list lacks (they cannot be removed)."""
    words = _keywords(value)
    given = {fold_keyword(word) for word in words}
    return [*(word for word in OPT_OUT_FLOOR if fold_keyword(word) not in given), *words]


DOMAINS_MAX = 20
DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _domains(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > DOMAINS_MAX:
        raise _Invalid(
            gettext("allowed_domains: must be a list of at most %(count)d domains.") % {"count": DOMAINS_MAX}
        )
    domains: list[str] = []
    for position, domain in enumerate(value, 1):
        domain = domain.strip().lower().lstrip("@") if isinstance(domain, str) else ""
        if not DOMAIN.fullmatch(domain):
            raise _Invalid(
                gettext("allowed_domains: item %(position)d must be an e-mail domain, e.g. example.com.")
                % {"position": position}
            )
        if domain not in domains:
            domains.append(domain)
    return domains


SIGN_IN_KEYS = {"require_google": "bool", "allowed_domains": "domains"}


def _sign_in(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) - set(SIGN_IN_KEYS):
        raise _Invalid(gettext("Must be an object with require_google and allowed_domains only."))
    result: dict = {}
    if "require_google" in value:
        if not isinstance(value["require_google"], bool):
            raise _Invalid(gettext("require_google: must be true or false."))
        result["require_google"] = value["require_google"]
    if "allowed_domains" in value:
        result["allowed_domains"] = _domains(value["allowed_domains"])
    return result


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def business_hours_interval(day: str, value: Any) -> list[str]:
    """One day's opening interval checked: ["HH:MM", "HH:MM"], opening before closing. Raises ValueError with the
    message an admin reads, naming the day (the settings page checks each day's row with it)."""
    name = WEEKDAY_NAMES[day]
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(
            gettext('%(day)s: must be an opening interval of two times, e.g. ["09:00", "17:00"].') % {"day": name}
        )
    if not all(isinstance(time, str) and TIME.fullmatch(time) for time in value):
        raise ValueError(gettext("%(day)s: times are HH:MM (24 hours), e.g. 09:00.") % {"day": name})
    if _minute(value[0]) >= _minute(value[1]):
        raise ValueError(
            gettext("%(day)s: closing time (%(close)s) must be after the opening time (%(open)s).")
            % {"day": name, "open": value[0], "close": value[1]}
        )
    return list(value)


def _business_hours(value: Any) -> dict[str, list[str]]:
    """The open days in weekday order, each with its interval."""
    if not isinstance(value, dict):
        raise _Invalid(gettext('Must be an object of weekdays, e.g. {"mon": ["09:00", "17:00"]}.'))
    unknown = [key for key in value if key not in WEEKDAYS]
    if unknown:
        raise _Invalid(
            gettext("Unknown day %(key)s: days are %(days)s.") % {"key": repr(unknown[0]), "days": ", ".join(WEEKDAYS)}
        )
    if not value:
        raise _Invalid(gettext("Open at least one day (null removes business hours)."))
    try:
        return {day: business_hours_interval(day, value[day]) for day in WEEKDAYS if day in value}
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(gettext("Must be true or false."))
    return value


SCHEMA: dict[str, Callable[[Any], Any]] = {
    "timezone": _timezone,
    "locale": _locale,
    "opt_out_keywords": _opt_out_keywords,
    "opt_in_keywords": _keywords,
    "sign_in": _sign_in,
    "require_admin_two_factor": _bool,
    "business_hours": _business_hours,
}


def settings_apply(*, current: Any, changes: Any) -> dict:
    """The settings after `changes`: known keys only, each value checked and normalised; null removes a key (its
    default applies again). What `current` holds that the schema refuses (a row from before it) is dropped.
    Raises ServiceError naming each bad key: {"settings": {key: [message]}}."""
    if not isinstance(changes, dict):
        raise ServiceError("settings: Must be an object.", errors={"settings": ["Must be an object."]})
    errors: dict[str, list[str]] = {key: ["Unknown setting."] for key in changes if key not in SCHEMA}
    result = {}
    for key, value in (current if isinstance(current, dict) else {}).items():
        try:
            result[key] = SCHEMA[key](value)
        except (KeyError, _Invalid):
            continue
    for key, value in changes.items():
        if key not in SCHEMA:
            continue
        if value is None:
            result.pop(key, None)
            continue
        try:
            result[key] = SCHEMA[key](value)
        except _Invalid as exc:
            errors[key] = [str(exc)]
    if not errors:
        overlap = sorted(_keyword_set(result, "opt_in_keywords", ()) & opt_out_words(result))
        if overlap:
            errors["opt_in_keywords"] = [
                gettext("%(word)s is an opt-out word: a word cannot opt in and out.") % {"word": repr(overlap[0])}
            ]
    if errors:
        key = next(iter(errors))
        raise ServiceError(f"settings.{key}: {errors[key][0]}", errors={"settings": errors})
    return result


# --- readers (any row) ----------------------------------------------------------------------------------


def _keyword_set(settings: Any, key: str, default: tuple[str, ...]) -> frozenset[str]:
    value = settings.get(key) if isinstance(settings, dict) else None
    words = value if isinstance(value, list) else default
    return frozenset(fold_keyword(word) for word in words if isinstance(word, str)) - {""}


def opt_out_words(settings: Any) -> frozenset[str]:
    """The folded words that opt a contact out: the floor, and the organization's list (the defaults without
    one). Whatever the row holds."""
    return _keyword_set(settings, "opt_out_keywords", DEFAULT_OPT_OUT_KEYWORDS) | _FLOOR


def opt_in_words(settings: Any) -> frozenset[str]:
    """The folded words that opt a contact back in: the organization's list (the defaults without one)."""
    return _keyword_set(settings, "opt_in_keywords", DEFAULT_OPT_IN_KEYWORDS)


def sign_in_policy(settings: Any) -> tuple[bool, tuple[str, ...]]:
    """(require_google, allowed_domains) of an organization's settings; (False, ()) for a row of another shape."""
    value = settings.get("sign_in") if isinstance(settings, dict) else None
    try:
        policy = _sign_in(value) if value is not None else {}
    except _Invalid:
        policy = {}
    return policy.get("require_google", False), tuple(policy.get("allowed_domains", ()))


def admin_two_factor_required(settings: Any) -> bool:
    """Whether the organization requires its admins to use two-step sign-in (false for a row of another shape)."""
    return isinstance(settings, dict) and settings.get("require_admin_two_factor") is True


def email_domain_allowed(settings: Any, email: str) -> bool:
    """True when `email` may be a member under the organization's allowed_domains (any, without a list)."""
    _, domains = sign_in_policy(settings)
    return not domains or email.rpartition("@")[2].lower() in domains


def business_hours(settings: Any) -> dict[int, tuple[int, int]]:
    """The organization's business hours: {isoweekday: (opening minute, closing minute)} of the day in its time zone
    (Monday 1; 9:00 is 540), closed days left out; {} when unset, or when the row holds a value of the wrong shape
    (it reads as unset)."""
    value = settings.get("business_hours") if isinstance(settings, dict) else None
    try:
        days = _business_hours(value)
    except _Invalid:
        return {}
    return {WEEKDAYS.index(day) + 1: (_minute(opening), _minute(closing)) for day, (opening, closing) in days.items()}
