"""Real small documents made by the tests (no fixtures on disk): PDFs written by hand (a text layer through a Type0
font with a ToUnicode map, so Arabic extracts too; or only an image, as a scan), DOCX by python-docx, encrypted PDFs
by pypdf; and knowledge bases with their documents processed."""

from __future__ import annotations

import io
import re
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from automation.models.knowledge import Document, KnowledgeBase
from automation.services import knowledge as services

ARABIC = re.compile(r"[\u0600-\u06ff\ufe70-\ufeff]")


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (1-based, object 1 the catalog), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    compressed = zlib.compress(data)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(compressed), extra) + compressed + b"\nendstream"


def pdf_with_text(pages: list[list[str]], *, presentation_forms: bool = False) -> bytes:
    """A PDF whose pages hold these lines as real text (any script: each character is a glyph of a CID font mapped
    back to its code point by a ToUnicode CMap). As PDF producers do, a line in Arabic is written in visual order
    (its glyphs left to right, so its characters reversed; keep such lines Arabic only); the reader puts it back in
    logical order. `presentation_forms`: Arabic letters written as presentation forms (U+FExx), as many producers
    do; NFKC must bring the letters back."""
    if presentation_forms:
        pages = [[_presentation(line) for line in page] for page in pages]
    pages = [[line[::-1] if ARABIC.search(line) else line for line in page] for page in pages]
    chars = sorted({char for page in pages for line in page for char in line})
    cmap = [
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for start in range(0, len(chars), 100):
        batch = chars[start : start + 100]
        cmap.append(b"%d beginbfchar" % len(batch))
        cmap += [b"<%04X> <%04X>" % (ord(c), ord(c)) for c in batch]
        cmap.append(b"endbfchar")
    cmap.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # pages, below
        b"<< /Type /Font /Subtype /Type0 /BaseFont /TestSans /Encoding /Identity-H /DescendantFonts [4 0 R] "
        b"/ToUnicode 6 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /TestSans /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor 5 0 R /DW 500 /CIDToGIDMap /Identity >>",
        b"<< /Type /FontDescriptor /FontName /TestSans /Flags 32 /FontBBox [0 -200 1000 800] /ItalicAngle 0 "
        b"/Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>",
        _stream(b"\n".join(cmap)),
    ]
    kids = []
    for lines in pages:
        content = b"BT /F1 11 Tf 50 780 Td 15 TL\n"
        for line in lines:
            content += b"<" + line.encode("utf-16-be").hex().upper().encode() + b"> Tj T*\n"
        content += b"ET"
        objects.append(_stream(content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return _pdf(objects)


def scanned_pdf(pages: int = 2) -> bytes:
    """A PDF of pages that hold only an image (a scan): no text layer."""
    pixels = bytes(range(0, 256, 16)) * 16
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        _stream(
            pixels, b"/Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        ),
    ]
    kids = []
    for _ in range(pages):
        objects.append(_stream(b"q 400 0 0 600 100 100 cm /Im1 Do Q"))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return _pdf(objects)


def encrypted_pdf(password: str = "secret") -> bytes:
    """A PDF with text, encrypted with a user password (pypdf's writer)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_with_text([["Confidential price list"]]))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_ISOLATED = {
    "ا": "\ufe8d", "ب": "\ufe8f", "ت": "\ufe95", "ث": "\ufe99", "ج": "\ufe9d", "ح": "\ufea1", "خ": "\ufea5",
    "د": "\ufea9", "ذ": "\ufeab", "ر": "\ufead", "ز": "\ufeaf", "س": "\ufeb1", "ش": "\ufeb5", "ص": "\ufeb9",
    "ض": "\ufebd", "ط": "\ufec1", "ظ": "\ufec5", "ع": "\ufec9", "غ": "\ufecd", "ف": "\ufed1", "ق": "\ufed5",
    "ك": "\ufed9", "ل": "\ufedd", "م": "\ufee1", "ن": "\ufee5", "ه": "\ufee9", "و": "\ufeed", "ي": "\ufef1",
    "ة": "\ufe93", "ى": "\ufeef", "أ": "\ufe83", "إ": "\ufe87", "ء": "\ufe80",
}  # fmt: skip


def _presentation(text: str) -> str:
    return "".join(_ISOLATED.get(char, char) for char in text)


def docx_file(blocks: list[tuple[str, object]]) -> bytes:
    """A DOCX written by python-docx: ("heading", text), ("paragraph", text), ("table", [[cell, ...], ...])."""
    import docx

    document = docx.Document()
    for kind, value in blocks:
        if kind == "heading":
            document.add_heading(value, level=1)
        elif kind == "paragraph":
            document.add_paragraph(value)
        elif kind == "table":
            table = document.add_table(rows=len(value), cols=len(value[0]))
            for r, row in enumerate(value):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def knowledge_base(org, name: str = "Help center", **fields) -> KnowledgeBase:
    return services.knowledge_base_create(organization=org, actor=None, name=name, **fields)


def processed_document(kb: KnowledgeBase, name: str, data: bytes) -> Document:
    """Upload and process a document now (the task's work, called directly); the document as stored after."""
    document = services.document_upload(knowledge_base=kb, actor=None, file=upload(name, data))
    services.document_process(organization_id=kb.organization_id, document_id=document.pk)
    document.refresh_from_db()
    return document
