"""Text out of PDF, DOCX, TXT and Markdown files, as sections that keep their page or heading.

PDF with pypdf (logical-order Arabic; pdfminer reverses it), a page per section; DOCX with python-docx's
`iter_inner_content()` (paragraphs and tables in document order), a section per heading; Markdown a section per
`#` heading; plain text one section. Everything NFKC-normalised (PDF presentation forms of Arabic letters become the
letters; the harakat are kept: the tokens leave them out, the text shown keeps them). Failures raise
ExtractionError with a reason for the user: a PDF with no text layer (scanned), a password, a damaged file.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext

from automation.knowledge.filetypes import decode_text

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 20  # less than this in a whole PDF: no text layer to speak of
MAX_HEADING = 300
MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class ExtractionError(Exception):
    """`str(exc)` is the reason shown to the user."""


@dataclass
class Section:
    text: str
    page: int | None = None
    heading: str = ""


@dataclass
class Extracted:
    sections: list[Section]
    page_count: int | None = None


def extract(data: bytes, file_type: str) -> Extracted:
    extractor = {"pdf": _pdf, "docx": _docx, "txt": _text, "md": _markdown}[file_type]
    extracted = extractor(data)
    extracted.sections = [s for s in extracted.sections if s.text.strip()]
    if not extracted.sections:
        if file_type == "pdf":
            raise ExtractionError(
                gettext(
                    "The PDF has no text layer (a scanned document?): there is no text to search. Upload a PDF with "
                    "selectable text, or the text itself."
                )
            )
        raise ExtractionError(gettext("The file has no text."))
    return extracted


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # many PDFs are "encrypted" with an empty password
            raise FileNotDecryptedError("password")
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            try:
                text = page.extract_text() or ""
            except (PdfReadError, PdfStreamError, KeyError, ValueError, TypeError, AttributeError) as exc:
                logger.info("knowledge: a PDF page could not be read (%r); skipped", exc)
                text = ""
            pages.append(Section(clean(_join_pdf_lines(text)), page=number))
        page_count = len(pages)
    except (FileNotDecryptedError, DependencyError):
        raise ExtractionError(gettext("The PDF is protected with a password: upload it without one.")) from None
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        logger.info("knowledge: unreadable PDF (%r)", exc)
        raise ExtractionError(gettext("The PDF could not be read: the file may be damaged.")) from None
    if sum(len(p.text.strip()) for p in pages) < MIN_TEXT_CHARS:
        pages = []
    return Extracted(pages, page_count)


def _join_pdf_lines(text: str) -> str:
    """A PDF page's lines joined into paragraphs: a line break inside a sentence is a space; an empty line, or a
    line ending a sentence followed by a short line, stays a paragraph break."""
    paragraphs, current = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def _docx(data: bytes) -> Extracted:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        sections: list[Section] = []
        heading, lines = "", []

        def flush() -> None:
            if lines:
                sections.append(Section(clean("\n\n".join(lines)), heading=heading))
                lines.clear()

        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                text = block.text.strip()
                style = (block.style.name if block.style is not None else "") or ""
                if text and (style.startswith("Heading") or style == "Title"):
                    flush()
                    heading = clean(text)[:MAX_HEADING]
                elif text:
                    lines.append(text)
            elif isinstance(block, Table):
                for row in block.rows:
                    cells = []
                    for cell in row.cells:
                        value = cell.text.strip()
                        if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                            cells.append(value)
                    if cells:
                        lines.append(" | ".join(cells))
        flush()
    except Exception as exc:  # python-docx raises KeyError, lxml errors, zip errors... on damaged files
        logger.info("knowledge: unreadable DOCX (%r)", exc)
        raise ExtractionError(gettext("The Word document could not be read: the file may be damaged.")) from None
    return Extracted(sections)


def _text(data: bytes) -> Extracted:
    text = decode_text(data)
    if text is None:
        raise ExtractionError(gettext("The file is not text in UTF-8."))
    return Extracted([Section(clean(text))])


def _markdown(data: bytes) -> Extracted:
    text = decode_text(data)
    if text is None:
        raise ExtractionError(gettext("The file is not text in UTF-8."))
    sections: list[Section] = []
    heading, lines = "", []
    for line in clean(text).splitlines():
        match = MD_HEADING.match(line)
        if match:
            if "".join(lines).strip():
                sections.append(Section("\n".join(lines), heading=heading))
            heading, lines = match.group(2)[:MAX_HEADING], []
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append(Section("\n".join(lines), heading=heading))
    return Extracted(sections)
