"""Contacts: create, update, import/export, tags, opt-out."""

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Organization
from accounts.org_settings import fold_keyword, opt_in_words, opt_out_words
from accounts.services import audit_log_write
from messaging import hooks
from messaging.models import Contact, ContactTag, Tag
from messaging.phones import InvalidPhoneNumber, normalize_phone, wa_id_from_e164
from whatsapp_hub.csv_export import csv_stream
from whatsapp_hub.errors import ServiceError

NAME_MAX_LENGTH = Contact._meta.get_field("name").max_length
TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length
NOTES_MAX_LENGTH = 5000
# One cell of a CSV may list several tags; these separate them, so a tag name cannot contain them.
TAG_SEPARATORS = re.compile(r"[,;|]")

IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_BATCH_SIZE = 1000
# Messages kept in an import's answer; `skipped` still counts every bad row.
IMPORT_MAX_ERRORS = 100

EXPORT_COLUMNS = ["name", "number", "phone", "tags", "opted_out", "created_at", "notes"]


def opt_keyword(*, organization: Organization, text: str) -> bool | None:
    """True when `text` (a whole inbound message) is an opt-out word, False for opt-in, else None. The opt-out
    floor always applies; settings of any shape are read safely (accounts.org_settings)."""
    return opt_keyword_reader(organization=organization)(text)


def opt_keyword_reader(*, organization: Organization) -> Callable[[str], bool | None]:
    """opt_keyword for many texts of one organization (a batch of webhooks): its words are read once."""
    opt_out, opt_in = opt_out_words(organization.settings), opt_in_words(organization.settings)

    def read(text: str) -> bool | None:
        folded = fold_keyword(text)
        if not folded:
            return None
        if folded in opt_out:
            return True
        if folded in opt_in:
            return False
        return None

    return read


def phone_or_error(raw: str, *, field: str = "phone") -> str:
    """E.164 of `raw`, or a 400 naming the field."""
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        raise ServiceError(str(exc), errors={field: [str(exc)]}) from None


@transaction.atomic
def contact_get_or_create(*, organization: Organization, phone: str, name: str = "") -> Contact:
    """The organization's contact for this phone number, created when missing."""
    e164 = phone_or_error(phone)
    contact, created = Contact.objects.for_org(organization).get_or_create(
        organization=organization, wa_id=wa_id_from_e164(e164), defaults={"phone": e164, "name": name.strip()}
    )
    if created:
        hooks.contact_created.send_on_commit(organization_id=organization.pk, contact_ids=[contact.pk])
    return contact


@transaction.atomic
def contact_set_opted_out(*, contact: Contact, opted_out: bool, actor=None, source: str = "api") -> Contact:
    """Opt a contact out of marketing (or back in), recorded in the audit log; subscribers told after commit."""
    if contact.opted_out == opted_out:
        return contact
    contact.opted_out = opted_out
    contact.opted_out_at = timezone.now() if opted_out else None
    contact.save(update_fields=["opted_out", "opted_out_at", "updated_at"])
    audit_log_write(
        organization=contact.organization,
        actor=actor,
        action="contact.opt_out" if opted_out else "contact.opt_in",
        target=contact,
        data={"source": source},
    )
    hooks.contact_opted_out.send_on_commit(
        organization_id=contact.organization_id, contact_id=contact.pk, opted_out=opted_out
    )
    return contact


# --- tags ----------------------------------------------------------------------------------------


def _clean_tag_names(names: Iterable[str]) -> list[str]:
    """Trimmed, non-empty, unique tag names in their first order; a 400 for a name that cannot be a tag."""
    cleaned: dict[str, None] = {}
    for raw in names:
        name = " ".join(raw.split())
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH:
            message = gettext("Tag %(name)s... is longer than %(count)d characters.") % {
                "name": repr(name[:20]),
                "count": TAG_MAX_LENGTH,
            }
            raise ServiceError(message, errors={"tags": [message]})
        if TAG_SEPARATORS.search(name):
            message = gettext("Tag %(name)s contains ',', ';' or '|' (they separate tags in CSV files).") % {
                "name": repr(name)
            }
            raise ServiceError(message, errors={"tags": [message]})
        cleaned.setdefault(name)
    return list(cleaned)


def _tag_ids(*, organization: Organization, names: Collection[str], known: dict[str, int]) -> dict[str, int]:
    """Ids of the organization's tags with these names, created when missing. `known` caches name -> id."""
    missing = [name for name in names if name not in known]
    if missing:
        Tag.objects.bulk_create([Tag(organization=organization, name=name) for name in missing], ignore_conflicts=True)
        known.update(Tag.objects.for_org(organization).filter(name__in=missing).values_list("name", "id"))
    return {name: known[name] for name in names}


def _contact_replace_tags(*, contact: Contact, names: list[str]) -> None:
    organization = contact.organization
    tag_ids = _tag_ids(organization=organization, names=names, known={}).values()
    ContactTag.objects.for_org(organization).filter(contact=contact).exclude(tag_id__in=tag_ids).delete()
    ContactTag.objects.bulk_create(
        [ContactTag(organization=organization, contact=contact, tag_id=tag_id) for tag_id in tag_ids],
        ignore_conflicts=True,
    )


# --- one contact ---------------------------------------------------------------------------------


def _notes_or_error(notes: str) -> str:
    """The notes trimmed, line breaks as LF (a browser's form sends CRLF), or a 400 naming `notes` when longer than
    NOTES_MAX_LENGTH."""
    notes = notes.replace("\r\n", "\n").strip()
    if len(notes) > NOTES_MAX_LENGTH:
        message = gettext("Notes are longer than %(count)d characters.") % {"count": NOTES_MAX_LENGTH}
        raise ServiceError(message, errors={"notes": [message]})
    return notes


def _number_taken(e164: str) -> ServiceError:
    message = gettext("A contact with the number %(number)s already exists in this organization.") % {"number": e164}
    return ServiceError(message, code="duplicate", errors={"phone": [message]})


def _number_free_or_error(*, organization: Organization, wa_id: str, e164: str, exclude: Contact | None = None) -> None:
    taken = Contact.objects.for_org(organization).filter(wa_id=wa_id)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise _number_taken(e164)


@transaction.atomic
def contact_create(
    *,
    organization: Organization,
    phone: str,
    name: str = "",
    tags: Iterable[str] = (),
    attributes: dict | None = None,
    notes: str = "",
    is_active: bool = True,
) -> Contact:
    """A new contact; a 400 naming `phone` when the number is invalid or already a contact here. Subscribers told
    after commit (hooks.contact_created)."""
    e164 = phone_or_error(phone)
    wa_id = wa_id_from_e164(e164)
    tag_names = _clean_tag_names(tags)
    notes = _notes_or_error(notes)
    _number_free_or_error(organization=organization, wa_id=wa_id, e164=e164)
    try:
        with transaction.atomic():  # a concurrent create of the same number loses here, not with a 500
            contact = Contact.objects.create(
                organization=organization,
                wa_id=wa_id,
                phone=e164,
                name=name.strip(),
                attributes=attributes or {},
                notes=notes,
                is_active=is_active,
            )
    except IntegrityError:
        raise _number_taken(e164) from None
    if tag_names:
        _contact_replace_tags(contact=contact, names=tag_names)
    hooks.contact_created.send_on_commit(organization_id=organization.pk, contact_ids=[contact.pk])
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    name: str | None = None,
    phone: str | None = None,
    tags: Iterable[str] | None = None,
    attributes: dict | None = None,
    notes: str | None = None,
    is_active: bool | None = None,
) -> Contact:
    """Change the fields given (None leaves a field as it is). `tags` replaces the contact's tags;
    a new phone is normalised and refused (400) when another contact of the organization has it. Subscribers told
    of the fields given after commit (hooks.contact_updated)."""
    changed: list[str] = []
    if phone is not None:
        e164 = phone_or_error(phone)
        wa_id = wa_id_from_e164(e164)
        _number_free_or_error(organization=contact.organization, wa_id=wa_id, e164=e164, exclude=contact)
        contact.phone, contact.wa_id = e164, wa_id
        changed += ["phone", "wa_id"]
    if name is not None:
        contact.name = name.strip()
        changed.append("name")
    if attributes is not None:
        contact.attributes = attributes
        changed.append("attributes")
    if notes is not None:
        contact.notes = _notes_or_error(notes)
        changed.append("notes")
    if is_active is not None:
        contact.is_active = is_active
        changed.append("is_active")
    tag_names = None if tags is None else _clean_tag_names(tags)
    if changed:
        try:
            with transaction.atomic():
                contact.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise _number_taken(contact.phone) from None
    if tag_names is not None:
        _contact_replace_tags(contact=contact, names=tag_names)
        changed.append("tags")
    if changed:
        fields = sorted(set(changed) - {"wa_id"})
        hooks.contact_updated.send_on_commit(
            organization_id=contact.organization_id, contact_ids=[contact.pk], fields=fields
        )
    return contact


# --- CSV import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRowError:
    """Why a row of an import was skipped: its row as a spreadsheet shows it, the column at fault, the reason."""

    row: int
    column: str
    message: str


@dataclass
class ContactImportResult:
    total_rows: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    row_errors: list[ImportRowError] = field(default_factory=list)  # `errors` by row and column (the web page's)
    contact_ids: list[int] = field(default_factory=list)  # the contacts of the file's numbers, in the file's order

    def skip(self, error: ImportRowError) -> None:
        self.skipped += 1
        if len(self.errors) < IMPORT_MAX_ERRORS:
            self.errors.append(gettext("Row %(row)d: %(message)s") % {"row": error.row, "message": error.message})
            self.row_errors.append(error)

    def finish(self) -> None:
        hidden = self.skipped - len(self.errors)
        if hidden > 0:
            self.errors.append(gettext("... and %(count)d more skipped rows.") % {"count": hidden})


@dataclass
class _ImportRow:
    phone: str
    name: str
    tags: list[str]

    def merge(self, *, name: str, tags: list[str]) -> None:
        """A later row of the file for the same number: its name wins when given, tags add up."""
        self.name = name or self.name
        self.tags += [tag for tag in tags if tag not in self.tags]


def contact_import_size_check(*, size: int | None) -> None:
    """413 when an upload of `size` bytes is over the import limit."""
    if size is not None and size > IMPORT_MAX_BYTES:
        raise ServiceError(
            gettext("The file is too large: at most %(count)d MB.") % {"count": IMPORT_MAX_BYTES // (1024 * 1024)},
            status_code=413,
            code="too_large",
        )


def _import_columns(header: list[str]) -> dict[str, int]:
    """Column name -> index; the first of repeated names wins. 400 without a number (or phone) column."""
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        columns.setdefault(title.strip().lower(), index)
    if "number" not in columns and "phone" not in columns:
        message = gettext(
            "The first row must name the columns, with a 'number' (or 'phone') column; found %(header)s."
        ) % {"header": repr(header)}
        raise ServiceError(message, errors={"file": [message]})
    return columns


class _BadRow(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _import_row(record: list[str], columns: dict[str, int]) -> tuple[str, _ImportRow]:
    """(wa_id, row) of one CSV record; _BadRow with the reason when it cannot be imported."""

    def cell(column: str) -> str:
        index = columns.get(column)
        return record[index].strip() if index is not None and index < len(record) else ""

    # The number comes from `number`, else from `phone`; a missing one is blamed on `number` when the file has it.
    number_column = "phone" if "number" not in columns or (not cell("number") and cell("phone")) else "number"
    # Our export (and spreadsheets) mark a number as text with a leading apostrophe.
    raw = cell(number_column).lstrip("'")
    if not raw:
        raise _BadRow(number_column, gettext("missing number."))
    try:
        e164 = normalize_phone(raw)
    except InvalidPhoneNumber:
        raise _BadRow(number_column, gettext("invalid number %(number)s.") % {"number": repr(raw)}) from None
    name = cell("name")
    if len(name) > NAME_MAX_LENGTH:
        raise _BadRow("name", gettext("name longer than %(count)d characters.") % {"count": NAME_MAX_LENGTH})
    try:
        tags = _clean_tag_names(TAG_SEPARATORS.split(cell("tags")))
    except ServiceError as exc:
        raise _BadRow("tags", exc.detail) from None
    return wa_id_from_e164(e164), _ImportRow(phone=e164, name=name, tags=tags)


def _import_flush(
    *, organization: Organization, batch: dict[str, _ImportRow], result: ContactImportResult, tag_ids: dict[str, int]
) -> None:
    """Upsert one batch of distinct numbers and add its tags, in a fixed number of queries."""
    if not batch:
        return
    existing = dict(Contact.objects.for_org(organization).filter(wa_id__in=batch).values_list("wa_id", "name"))
    # Rows in key order, so concurrent imports lock the same rows in the same order (no deadlock).
    contacts = [
        Contact(organization=organization, wa_id=wa_id, phone=row.phone, name=row.name or existing.get(wa_id, ""))
        for wa_id, row in sorted(batch.items())
    ]
    Contact.objects.bulk_create(
        contacts,
        update_conflicts=True,
        unique_fields=["organization", "wa_id"],
        update_fields=["name", "phone", "updated_at"],
    )
    result.updated += len(existing)
    result.imported += len(batch) - len(existing)
    id_of = {contact.wa_id: contact.pk for contact in contacts}  # bulk_create sets them, inserted or updated
    result.contact_ids += [id_of[wa_id] for wa_id in batch]
    new_ids = [id_of[wa_id] for wa_id in batch if wa_id not in existing]
    if new_ids:
        hooks.contact_created.send_on_commit(organization_id=organization.pk, contact_ids=new_ids)
    renamed = {wa_id for wa_id, row in batch.items() if wa_id in existing and row.name and row.name != existing[wa_id]}
    tagged = {wa_id for wa_id, row in batch.items() if wa_id in existing and row.tags}
    if renamed or tagged:
        fields = [name for name, touched in (("name", renamed), ("tags", tagged)) if touched]
        hooks.contact_updated.send_on_commit(
            organization_id=organization.pk,
            contact_ids=[id_of[wa_id] for wa_id in sorted(renamed | tagged)],
            fields=fields,
        )
    ids = _tag_ids(organization=organization, names={tag for row in batch.values() for tag in row.tags}, known=tag_ids)
    ContactTag.objects.bulk_create(
        [
            ContactTag(organization=organization, contact_id=contact.pk, tag_id=ids[tag])
            for contact in contacts
            for tag in batch[contact.wa_id].tags
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def contact_import_csv(*, organization: Organization, file: File, actor=None) -> ContactImportResult:
    """Import a CSV (UTF-8, BOM tolerated) with columns `name`, `number` (or `phone`) and `tags`.

    New numbers become contacts; existing ones are updated (the name when the row has one, tags
    added); a bad row is skipped with a message naming its row as a spreadsheet shows it (header =
    row 1); a number repeated in the file is merged into one contact (its later rows count as
    updates). The file is read as a stream and written in batches of IMPORT_BATCH_SIZE, so memory
    stays flat whatever its length. A file that cannot be read (not UTF-8 text, no number column,
    broken CSV) is a 400 and stores nothing.
    """
    contact_import_size_check(size=file.size)
    result = ContactImportResult()
    tag_ids: dict[str, int] = {}
    batch: dict[str, _ImportRow] = {}
    row_number = 0
    file.seek(0)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    try:
        records = csv.reader(text)
        header = next(records, None)
        if header is None:
            message = gettext("The file is empty.")
            raise ServiceError(message, errors={"file": [message]})
        columns = _import_columns(header)
        row_number = 1
        for row_number, record in enumerate(records, start=2):
            if any("\x00" in value for value in record):
                # Python's csv reads NUL since 3.11; PostgreSQL text cannot hold it, and no text file has one.
                message = gettext(
                    "The file is not CSV text (row %(row)d has a NUL character): save it as 'CSV UTF-8'."
                ) % {"row": row_number}
                raise ServiceError(message, errors={"file": [message]})
            if not any(value.strip() for value in record):
                continue  # a blank line: a row in a spreadsheet, but no contact
            result.total_rows += 1
            try:
                wa_id, row = _import_row(record, columns)
            except _BadRow as exc:
                result.skip(ImportRowError(row=row_number, column=exc.column, message=str(exc)))
                continue
            if wa_id in batch:
                batch[wa_id].merge(name=row.name, tags=row.tags)
                result.updated += 1
                continue
            batch[wa_id] = row
            if len(batch) >= IMPORT_BATCH_SIZE:
                _import_flush(organization=organization, batch=batch, result=result, tag_ids=tag_ids)
                batch = {}
        _import_flush(organization=organization, batch=batch, result=result, tag_ids=tag_ids)
    except UnicodeDecodeError:
        # Decoding runs a chunk ahead of the CSV reader, hence "near".
        message = gettext(
            "The file is not UTF-8 text (near row %(row)d): save it as 'CSV UTF-8' and upload it again."
        ) % {"row": row_number + 1}
        raise ServiceError(message, errors={"file": [message]}) from None
    except csv.Error as exc:
        message = gettext("The file is not valid CSV (row %(row)d): %(error)s.") % {"row": row_number + 1, "error": exc}
        raise ServiceError(message, errors={"file": [message]}) from None
    finally:
        text.detach()  # leave the upload open: its owner closes it
    result.finish()
    audit_log_write(
        organization=organization,
        actor=actor,
        action="contact.import",
        data={key: getattr(result, key) for key in ("total_rows", "imported", "updated", "skipped")},
    )
    return result


# --- CSV export ----------------------------------------------------------------------------------


def contacts_export_csv(contacts: Iterable[Contact], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text of `contacts` (tags prefetched), in chunks, for a streaming response (whatsapp_hub.csv_export).

    `number` is the wa_id digits, safe as is; `phone` is E.164, whose '+' is neutralised like any formula-looking
    cell, so it reads '+15551234567 there. Re-importing the file uses `number` (the import tolerates the BOM).
    """
    rows = (
        (
            contact.name,
            contact.wa_id or "",
            contact.phone,
            ", ".join(tag.name for tag in contact.tags.all()),
            "true" if contact.opted_out else "false",
            contact.created_at.isoformat(),
            contact.notes,
        )
        for contact in contacts
    )
    return csv_stream(EXPORT_COLUMNS, rows, rows_per_chunk=rows_per_chunk)
