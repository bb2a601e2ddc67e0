"""Extraction of real small files made by the tests (PDF with a text layer, scanned, encrypted, damaged; DOCX; TXT
and Markdown), in English and Arabic, and the file type read from the content, not the name."""

import codecs

import pytest

from automation.knowledge import filetypes
from automation.knowledge.extract import ExtractionError, Section, extract
from tests.automation.knowledge_support import docx_file, encrypted_pdf, pdf_with_text, scanned_pdf


def test_a_pdf_gives_its_text_page_by_page_in_both_languages():
    data = pdf_with_text(
        [["Refund policy", "Refunds take five days"], ["سياسةُ الاسترجاع خلال خمسة أيام", "نفتح الساعة التاسعة"]]
    )

    extracted = extract(data, "pdf")

    assert extracted.page_count == 2
    assert extracted.sections == [
        Section("Refund policy Refunds take five days", page=1),
        Section("سياسةُ الاسترجاع خلال خمسة أيام نفتح الساعة التاسعة", page=2),
    ]


def test_arabic_presentation_forms_in_a_pdf_become_letters():
    data = pdf_with_text([["سياسة الاسترجاع خلال خمسة أيام"]], presentation_forms=True)

    assert extract(data, "pdf").sections == [Section("سياسة الاسترجاع خلال خمسة أيام", page=1)]


def test_a_scanned_pdf_has_no_text_layer():
    with pytest.raises(ExtractionError) as caught:
        extract(scanned_pdf(), "pdf")

    assert str(caught.value).startswith("The PDF has no text layer (a scanned document?)")


def test_a_password_protected_pdf_is_refused_clearly():
    with pytest.raises(ExtractionError) as caught:
        extract(encrypted_pdf(), "pdf")

    assert str(caught.value) == "The PDF is protected with a password: upload it without one."


@pytest.mark.parametrize("data", [b"%PDF-1.4\nnot a pdf at all", pdf_with_text([["cut short"]])[:300]])
def test_a_damaged_pdf_is_refused_clearly(data):
    with pytest.raises(ExtractionError) as caught:
        extract(data, "pdf")

    assert str(caught.value) == "The PDF could not be read: the file may be damaged."


def test_a_docx_gives_sections_per_heading_with_its_tables_in_order():
    data = docx_file(
        [
            ("paragraph", "Welcome to Acme."),
            ("heading", "Shipping"),
            ("paragraph", "We ship worldwide."),
            ("table", [["Zone", "Days"], ["Europe", "3"]]),
            ("paragraph", "Tracking comes by e-mail."),
            ("heading", "الدفع"),
            ("paragraph", "نقبل البطاقات والتحويل البنكي"),
        ]
    )

    assert extract(data, "docx").sections == [
        Section("Welcome to Acme."),
        Section("We ship worldwide.\n\nZone | Days\n\nEurope | 3\n\nTracking comes by e-mail.", heading="Shipping"),
        Section("نقبل البطاقات والتحويل البنكي", heading="الدفع"),
    ]


def test_a_damaged_docx_is_refused_clearly():
    data = docx_file([("paragraph", "x")])

    with pytest.raises(ExtractionError) as caught:
        extract(data[: len(data) // 2], "docx")

    assert str(caught.value) == "The Word document could not be read: the file may be damaged."


def test_text_in_utf8_or_utf16_with_its_bom():
    text = "ساعات العمل: من ٩ صباحاً\nOpening hours: from 9 am"

    assert extract(text.encode(), "txt").sections == [Section(text)]
    assert extract(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "txt").sections == [Section(text)]


def test_markdown_keeps_its_headings():
    data = "Intro line\n\n# Returns\nWithin 30 days.\n\n## الشحن ##\nخلال ثلاثة أيام\n".encode()

    assert extract(data, "md").sections == [
        Section("Intro line\n"),
        Section("Within 30 days.\n", heading="Returns"),
        Section("خلال ثلاثة أيام", heading="الشحن"),
    ]


def test_an_empty_text_has_nothing_to_index():
    with pytest.raises(ExtractionError) as caught:
        extract(b"  \n\n ", "txt")

    assert str(caught.value) == "The file has no text."


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (pdf_with_text([["x"]]), "notes.txt", "pdf"),
        (docx_file([("paragraph", "x")]), "scan.pdf", "docx"),
        ("# Title\nنص".encode(), "faq.md", "md"),
        ("# Title\nنص".encode(), "faq.pdf", "txt"),
        (codecs.BOM_UTF8 + b"hello", "hello", "txt"),
    ],
)
def test_the_type_is_read_from_the_content(data, name, expected):
    assert filetypes.detect(data, name) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "Images are not taken: upload a PDF, DOCX, TXT or Markdown file."),
        (
            filetypes.OLE_MAGIC + bytes(100),
            "This is an old Word (.doc) or a password-protected Office file: save it as DOCX without a password.",
        ),
        (b"PK\x03\x04 broken zip", "The file is a damaged archive: it cannot be read."),
        (bytes(range(256)) * 4, "Unsupported file type: upload a PDF, DOCX, TXT or Markdown file."),
    ],
)
def test_other_content_is_refused_whatever_its_name(data, message):
    with pytest.raises(filetypes.UnsupportedFile) as caught:
        filetypes.detect(data, "document.pdf")

    assert str(caught.value) == message


def test_a_zip_that_is_not_a_word_document_is_refused():
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")

    with pytest.raises(filetypes.UnsupportedFile) as caught:
        filetypes.detect(out.getvalue(), "book.docx")

    assert str(caught.value) == "Only Word documents (DOCX) are taken among Office and zip files."
