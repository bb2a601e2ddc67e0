"""The Arabic catalog (locale/ar): every message translated, none fuzzy, placeholders and markup kept, the committed
.mo compiled from the .po as it is; and the pages in Arabic, right to left, with the services' refusals in Arabic."""

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import signed_in

CATALOG = Path(settings.BASE_DIR) / "locale" / "ar" / "LC_MESSAGES"
# Arabic's plural categories (CLDR): zero, one, two, few (3-10), many (11-99), other (100-102, ...), by n % 100.
PLURAL_CATEGORIES = {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 101: 5, 102: 5, 103: 3, 111: 4, 1000: 5}
# A placeholder (%(name)s, %(count)d) or an HTML tag: what a translation must keep.
KEPT = re.compile(r"%\(\w+\)[sd]|<[^>]+>")
# Names kept in Latin script (the longer first: what is left of a message without them must be translated).
BRANDS = ("WhatsApp Web", "WhatsApp", "Meta", "WAHA", "Cloud API", "CSV", "API")
ARABIC = re.compile(r"[\u0600-\u06ff]")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    plurals: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, the header first (entries are separated by blank lines; obsolete ones, all "#~",
    are left out)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if all(line.startswith("#") for line in lines):
            continue
        entry, name = Entry(), ""
        for line in lines:
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith('"'):
                _set(entry, name, ast.literal_eval(line), append=True)
            elif not line.startswith("#"):
                name, _, text = line.partition(" ")
                _set(entry, name, ast.literal_eval(text), append=False)
        entries.append(entry)
    return entries


def _set(entry: Entry, name: str, text: str, *, append: bool) -> None:
    """Sets (or continues, on a line of its own) one field: msgctxt, msgid, msgid_plural, msgstr or msgstr[n]."""
    plural = re.fullmatch(r"msgstr\[(\d)\]", name)
    if plural:
        index = int(plural.group(1))
        entry.plurals[index] = (entry.plurals.get(index, "") if append else "") + text
    else:
        setattr(entry, name, ((getattr(entry, name) or "") if append else "") + text)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return read_po(CATALOG / "django.po")


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    return entries[1:]


def test_the_header_is_arabic_with_its_six_plural_forms(entries):
    header, *_ = entries
    assert header.msgid == "" and "fuzzy" not in header.flags
    assert "Language: ar\n" in header.msgstr
    assert "Plural-Forms: nplurals=6; plural=" in header.msgstr


def test_every_message_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 300
    assert [entry.key for entry in messages if "fuzzy" in entry.flags] == []
    untranslated = [
        entry.key
        for entry in messages
        if (entry.msgid_plural is None and not entry.msgstr)
        or (
            entry.msgid_plural is not None
            and (sorted(entry.plurals) != list(range(6)) or not all(entry.plurals.values()))
        )
    ]
    assert untranslated == []


def test_translations_keep_the_placeholders_the_markup_and_the_brand_names(messages):
    wrong = []
    for entry in messages:
        source = entry.msgid + (entry.msgid_plural or "")
        for text in [entry.msgstr] if entry.msgid_plural is None else list(entry.plurals.values()):
            if entry.msgid_plural is None and Counter(KEPT.findall(text)) != Counter(KEPT.findall(entry.msgid)):
                wrong.append((entry.msgid, text))
            # A plural form for one number (zero, one, two) may say it in words; none may add a placeholder.
            if not set(KEPT.findall(text)) <= set(KEPT.findall(source)):
                wrong.append((entry.msgid, text))
            if any(brand in source and brand not in text for brand in BRANDS):
                wrong.append((entry.msgid, text))
            words = re.sub("|".join(BRANDS), "", KEPT.sub("", source))
            if re.search("[A-Za-z]", words) and not ARABIC.search(text):  # left in English
                wrong.append((entry.msgid, text))
    assert wrong == []


def test_the_committed_mo_is_compiled_from_the_po(messages):
    with (CATALOG / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    expected = {}
    for entry in messages:
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstr
        else:
            expected.update({(entry.key, index): text for index, text in entry.plurals.items()})
    assert {key: text for key, text in compiled._catalog.items() if key != ""} == expected
    assert {n: compiled.plural(n) for n in PLURAL_CATEGORIES} == PLURAL_CATEGORIES


def test_the_dashboard_in_arabic_is_right_to_left_with_its_title_and_navigation_translated(agent_membership):
    page = signed_in(agent_membership).get("/dashboard/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "<title>لوحة التحكم · WhatsApp Hub</title>" in page
    assert "<h1>لوحة التحكم</h1>" in page
    for label in ("صندوق الوارد", "جهات الاتصال", "لوحة التحكم", "تسجيل الخروج"):
        assert f"{label}</" in page
    assert "· موظف خدمة</span>" in page  # the role in the account menu
    assert 'data-sent="مُرسلة" data-received="مُستلمة"' in page  # the chart's legend, read by dashboard.js
    assert ">Inbox<" not in page and ">Dashboard<" not in page


def test_a_service_refusal_is_shown_in_arabic_next_to_its_field(admin_membership):
    data = {"name": "Acme", "timezone": "Mars/Olympus", "locale": "en", "opt_in_keywords": "start"}
    page = signed_in(admin_membership).post("/settings/organization/", data, HTTP_ACCEPT_LANGUAGE="ar")
    html = page.content.decode()
    assert "يجب أن يكون اسم منطقة زمنية من IANA، مثل Asia/Riyadh." in html
    assert "Must be an IANA time zone name" not in html


def test_a_contact_form_error_from_the_phone_check_is_in_arabic(agent_membership):
    page = signed_in(agent_membership).post("/contacts/new/", {"phone": "12345"}, HTTP_ACCEPT_LANGUAGE="ar")
    assert "&#x27;12345&#x27; ليس رقم هاتف ممكنًا (أقصر مما يلزم لدولته)." in page.content.decode()
