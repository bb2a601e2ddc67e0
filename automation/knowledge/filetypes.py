"""What an uploaded file is, by its content (magic bytes, the zip's structure, a text decoding), not its name.

PDF: starts with `%PDF-` (within the first KB, as readers allow). DOCX: a zip holding `word/document.xml`. Text:
decodes as UTF-8 (a BOM allowed) or UTF-16 with its BOM, with no NUL and hardly any control characters; named
`.md`/`.markdown` it is Markdown (its `#` headings kept), else plain text. Anything else is refused, with a word for
the usual mistakes (an old .doc, a password-protected Office file, an image).
"""

from __future__ import annotations

import codecs
import io
import zipfile

from django.utils.translation import gettext

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc, and Office files encrypted with a password
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"II*\x00", b"MM\x00*")
MARKDOWN_SUFFIXES = (".md", ".markdown")


class UnsupportedFile(ValueError):
    """`str(exc)` says why, in the user's language."""


def decode_text(data: bytes) -> str | None:
    """The text of a plain-text file (UTF-8, or UTF-16/UTF-8 with a BOM), None when it is not text."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    text = text.lstrip("\ufeff")
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f")
    if "\x00" in text or controls > max(2, len(text) // 1000):
        return None
    return text


def detect(data: bytes, name: str) -> str:
    """The file's type (`pdf`, `docx`, `txt` or `md`) from its content; UnsupportedFile otherwise."""
    if not data:
        raise UnsupportedFile(gettext("The file is empty."))
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise UnsupportedFile(gettext("The file is a damaged archive: it cannot be read.")) from None
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedFile(gettext("Only Word documents (DOCX) are taken among Office and zip files."))
    if data.startswith(OLE_MAGIC):
        raise UnsupportedFile(
            gettext(
                "This is an old Word (.doc) or a password-protected Office file: save it as DOCX without a password."
            )
        )
    if data.startswith(IMAGE_MAGIC):
        raise UnsupportedFile(gettext("Images are not taken: upload a PDF, DOCX, TXT or Markdown file."))
    if decode_text(data) is not None:
        return "md" if name.lower().endswith(MARKDOWN_SUFFIXES) else "txt"
    raise UnsupportedFile(gettext("Unsupported file type: upload a PDF, DOCX, TXT or Markdown file."))
