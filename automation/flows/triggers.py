"""Which inbound message starts a flow: its trigger node's `on`.

- `keyword`: the message's text is one of `keywords` (`match: exact`, the default: the whole message, compared as
  opt-out words are: NFKC, trimmed, case-folded), or contains one (`match: contains`);
- `first_message`: the contact's first message to the organization ever;
- `button_reply`: a reply button or list row was chosen (or a template's quick-reply button); with `keywords`, only
  those ids (or payloads);
- `opt_in`: the message is one of the organization's opt-in words (START...);
- `any`: any message.
"""

from __future__ import annotations

from accounts.org_settings import fold_keyword
from messaging.models import Message
from messaging.services.contacts import opt_keyword


def reply_id(message: Message) -> str | None:
    """The id of the button or list row a customer chose (a template's quick reply: its payload), else None."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.type == Message.Type.INTERACTIVE:
        interactive = payload.get("interactive") if isinstance(payload.get("interactive"), dict) else {}
        for kind in ("button_reply", "list_reply"):
            reply = interactive.get(kind)
            if isinstance(reply, dict) and isinstance(reply.get("id"), str):
                return reply["id"]
    if message.type == Message.Type.BUTTON:
        button = payload.get("button") if isinstance(payload.get("button"), dict) else {}
        value = button.get("payload") or button.get("text")
        if isinstance(value, str):
            return value
    return None


def is_first_message(message: Message) -> bool:
    """The contact never wrote to the organization before this message."""
    earlier = Message.objects.for_org(message.organization_id).filter(
        conversation__contact_id=message.conversation.contact_id,
        direction=Message.Direction.INBOUND,
        pk__lt=message.pk,
    )
    return not earlier.exists()


def matches(trigger: dict, message: Message) -> bool:
    """Whether `message` (inbound) sets off this trigger node."""
    data = trigger.get("data") or {}
    on = data.get("on")
    keywords = [fold_keyword(word) for word in data.get("keywords") or ()]
    if on == "any":
        return True
    if on == "keyword":
        text = fold_keyword(message.text)
        if not text:
            return False
        if data.get("match") == "contains":
            return any(keyword and keyword in text for keyword in keywords)
        return text in keywords
    if on == "button_reply":
        chosen = reply_id(message)
        return chosen is not None and (not keywords or fold_keyword(chosen) in keywords)
    if on == "opt_in":
        return opt_keyword(organization=message.organization, text=message.text) is False
    if on == "first_message":
        return is_first_message(message)
    return False
