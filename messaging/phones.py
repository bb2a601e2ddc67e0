"""Phone numbers: E.164 in our rows, bare digits (wa_id) on the wire to Meta."""

import phonenumbers
from django.utils.translation import gettext, gettext_lazy
from phonenumbers import ValidationResult

# Why a number is impossible, by phonenumbers' verdict. Possible (the right length for its country) is enough:
# "valid" also needs a number range assigned today, which refuses Meta's test numbers (+1 555 ...), the fictional
# ranges that examples use, and ranges newer than the library's metadata.
IMPOSSIBLE = {
    ValidationResult.INVALID_COUNTRY_CODE: gettext_lazy("no country uses its country code"),
    ValidationResult.TOO_SHORT: gettext_lazy("too short for its country"),
    ValidationResult.TOO_LONG: gettext_lazy("too long for its country"),
    ValidationResult.INVALID_LENGTH: gettext_lazy("not a length its country uses"),
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: gettext_lazy("a local number: give it with its country and area code"),
}


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, *, default_region: str | None = None) -> str:
    """E.164 (+15551234567) for a number typed by a person or sent by a provider.

    Digits without '+' are read as international (WhatsApp's wa_id form) unless a default region is given. Any
    number possible for its country is taken (Meta's test numbers included); raises InvalidPhoneNumber for one
    that cannot be a phone number.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(gettext("A phone number is required."))
    if not text.startswith("+") and default_region is None:
        text = "+" + text.lstrip("0")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(gettext("%(number)s is not a phone number.") % {"number": repr(raw)}) from None
    verdict = phonenumbers.is_possible_number_with_reason(parsed)
    if verdict != ValidationResult.IS_POSSIBLE:
        raise InvalidPhoneNumber(
            gettext("%(number)s is not a possible phone number (%(reason)s).")
            % {"number": repr(raw), "reason": IMPOSSIBLE[verdict]}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def wa_id_from_e164(e164: str) -> str:
    return e164.lstrip("+")


def e164_from_wa_id(wa_id: str) -> str:
    """Best effort: the E.164 form of a wa_id, or '' when it is not a possible number."""
    try:
        return normalize_phone(wa_id)
    except InvalidPhoneNumber:
        return ""
