"""Scenarios: which inbound message a trigger matches, and what a scenario may be (checked when it is saved).

Triggers: `keyword` (the whole message is one of the words, or contains one as a word of its own: `match`), `regex`
(Python's re over the message's text), `button` and `list` (the id of the reply button or list row the customer
tapped; a template's quick-reply button sends its payload, matched as a button's id). Texts are compared folded:
NFKC, case-folded, Arabic diacritics and tatweel dropped, alef forms as one.

Regular expressions are the tenant's input run on every inbound message, and Python's re has no timeout: a pattern
is refused when it could backtrack catastrophically (a repeated group holding another unbounded repeat or an
alternation, as in `(a+)+` or `(a|aa)*`, and backreferences), it has at most 2 repeats of variable length (`*`,
`+`, `?` aside, `{m,n}`: matching `a*a*a*b` is polynomial in the text's length, one power per repeat, and took 18 s on
500 characters here, `a*a*b` 0.02 s), it is at most 200 characters long, and it runs on the first 500 characters of
a message.
"""

import re
import re._parser as sre_parse  # the stdlib's own parser of patterns (Python 3.11+)
import unicodedata
from collections.abc import Iterable

from messaging.models import Message

PATTERN_MAX_LENGTH = 200
MATCHED_TEXT_MAX_LENGTH = 500
MAX_VARIABLE_REPEATS = 2
ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})
UNBOUNDED = sre_parse.MAXREPEAT
_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}


def fold(text: str) -> str:
    """How scenario and handoff keywords and messages are compared."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(ARABIC_MARKS.sub("", text).translate(ALEF_FORMS).split())


def contains_word(text: str, words: Iterable[str]) -> bool:
    """Whether the folded `text` holds one of `words` (folded) as a word (or words) of its own."""
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in words if word)


class UnsafePattern(ValueError):
    pass


def _check_tree(items, *, repeated: bool, counted: list[int]) -> None:
    for op, arg in items:
        if op in (sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS):
            raise UnsafePattern("Backreferences are not allowed.")
        if op in _REPEATS:
            low, high, sub = arg
            unbounded = high == UNBOUNDED or high > 100
            if repeated and unbounded:
                raise UnsafePattern("A repeated group may not hold another unbounded repeat, as in (a+)+.")
            counted[0] += high > 1 and high > low  # `?` (at most once) backtracks once
            if counted[0] > MAX_VARIABLE_REPEATS:
                raise UnsafePattern(f"At most {MAX_VARIABLE_REPEATS} repeats of variable length (*, +, {{m,n}}).")
            _check_tree(sub, repeated=repeated or high > 1, counted=counted)
        elif op == sre_parse.BRANCH:
            if repeated:
                raise UnsafePattern("A repeated group may not hold alternatives, as in (a|ab)*.")
            for branch in arg[1]:
                _check_tree(branch, repeated=repeated, counted=counted)
        elif op == sre_parse.SUBPATTERN:
            _check_tree(arg[-1], repeated=repeated, counted=counted)
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            _check_tree(arg[1], repeated=repeated, counted=counted)
        elif op == sre_parse.ATOMIC_GROUP:
            _check_tree(arg, repeated=repeated, counted=counted)


def compile_pattern(pattern: str) -> re.Pattern:
    """The compiled pattern (case-insensitive); UnsafePattern (or ValueError) with the reason it is refused."""
    if not pattern or len(pattern) > PATTERN_MAX_LENGTH:
        raise UnsafePattern(f"A pattern has 1 to {PATTERN_MAX_LENGTH} characters.")
    try:
        tree = sre_parse.parse(pattern, re.IGNORECASE)
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(f"Not a valid regular expression: {exc}.") from None
    _check_tree(tree, repeated=False, counted=[0])
    return compiled


def reply_id_of(message: Message) -> tuple[str, str] | None:
    """("button" or "list", id) of an inbound reply-button or list-row tap (or a template's quick reply)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.type == Message.Type.INTERACTIVE:
        interactive = payload.get("interactive") if isinstance(payload.get("interactive"), dict) else {}
        kind = interactive.get("type")
        reply = interactive.get(kind) if isinstance(interactive.get(kind), dict) else {}
        reply_id = reply.get("id")
        if isinstance(reply_id, str) and kind in ("button_reply", "list_reply"):
            return ("button" if kind == "button_reply" else "list", reply_id)
    if message.type == Message.Type.BUTTON:
        button = payload.get("button") if isinstance(payload.get("button"), dict) else {}
        reply_id = button.get("payload") or button.get("text")
        if isinstance(reply_id, str):
            return ("button", reply_id)
    return None


def matches(scenario, *, message: Message, folded_text: str) -> bool:
    """Whether the scenario's trigger matches this inbound message (`folded_text`: fold(message.text))."""
    trigger = scenario.trigger
    if trigger in ("button", "list"):
        tapped = reply_id_of(message)
        return tapped is not None and tapped[0] == trigger and tapped[1] in scenario.values
    if trigger == "keyword":
        if not folded_text:
            return False
        words = [fold(word) for word in scenario.values]
        if scenario.match == "contains":
            return contains_word(folded_text, words)
        return folded_text in words
    if trigger == "regex":
        try:
            compiled = compile_pattern(scenario.pattern)
        except ValueError:
            return False  # saved before a stricter check: never run
        text = unicodedata.normalize("NFKC", message.text or "")[:MATCHED_TEXT_MAX_LENGTH]
        return bool(text) and compiled.search(text) is not None
    return False
