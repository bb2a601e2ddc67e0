"""Phone numbers: E.164 in our rows, bare digits (wa_id) on the wire to Meta."""

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, *, default_region: str | None = None) -> str:
    """E.164 (+15551234567) for a number typed by a person or sent by a provider.

    Digits without '+' are read as international (WhatsApp's wa_id form) unless a default
    region is given. Raises InvalidPhoneNumber.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("A phone number is required.")
    if not text.startswith("+") and default_region is None:
        text = "+" + text.lstrip("0")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def wa_id_from_e164(e164: str) -> str:
    return e164.lstrip("+")


def e164_from_wa_id(wa_id: str) -> str:
    """Best effort: the E.164 form of a wa_id, or '' when it is not a valid number."""
    try:
        return normalize_phone(wa_id)
    except InvalidPhoneNumber:
        return ""
