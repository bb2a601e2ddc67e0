"""The splitter's boundaries: paragraphs, then sentences (Arabic ones too), then clauses, then words; sizes, the
overlap, headings and pages."""

import itertools

from automation.knowledge.extract import Section
from automation.knowledge.split import MAX_CHARS, OVERLAP_CHARS, split


def _sentences(count: int, template: str) -> str:
    return " ".join(template % i for i in range(count))


def test_short_paragraphs_share_one_chunk_whole():
    chunks = split([Section("First paragraph.\n\nSecond paragraph.", page=3, heading="Intro")])

    assert [(c.text, c.position, c.page, c.heading) for c in chunks] == [
        ("First paragraph.\n\nSecond paragraph.", 0, 3, "Intro")
    ]


def test_paragraphs_are_not_cut_when_they_fit():
    paragraphs = [_sentences(12, f"Paragraph {p} sentence %d is here.") for p in range(4)]  # ~380 chars each

    chunks = split([Section("\n\n".join(paragraphs))])

    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    for paragraph in paragraphs:  # every paragraph is whole in some chunk
        assert any(paragraph in c.text for c in chunks)
    assert chunks[0].text == "\n\n".join(paragraphs[:3])


def test_a_long_paragraph_is_cut_at_sentence_ends_in_english_and_arabic():
    english = _sentences(40, "This is English sentence number %d.")
    arabic = _sentences(40, "هل هذه هي الجملة العربية رقم %d؟")
    urdu_stop = _sentences(90, "یہ جملہ نمبر %d ہے۔")

    for text, end in ((english, "."), (arabic, "؟"), (urdu_stop, "۔")):
        chunks = split([Section(text)])
        assert len(chunks) > 1
        assert all(len(c.text) <= MAX_CHARS for c in chunks)
        assert all(c.text.endswith(end) for c in chunks), [c.text[-20:] for c in chunks]


def _overlap(before: str, after: str) -> str:
    """The longest start of `after` that ends `before`."""
    return next(after[:k] for k in range(min(len(before), len(after)), 0, -1) if before.endswith(after[:k]))


def test_each_chunk_starts_with_the_last_whole_sentences_of_the_one_before():
    chunks = split([Section(_sentences(90, "Sentence %d ends here."))])

    assert len(chunks) == 3
    for before, after in itertools.pairwise(chunks):
        overlap = _overlap(before.text, after.text)
        assert OVERLAP_CHARS <= len(overlap) <= 2 * OVERLAP_CHARS
        assert overlap.startswith("Sentence ") and overlap.endswith(" ends here.")


def test_a_sentence_too_long_is_cut_at_clauses_then_words():
    clauses = "، ".join(f"البند رقم {i} من الشروط الطويلة جدا" for i in range(60)) + "."
    words = " ".join(f"word{i}" for i in range(400))

    by_clause = split([Section(clauses)])
    by_word = split([Section(words)])

    assert len(by_clause) > 1 and all(len(c.text) <= MAX_CHARS for c in by_clause)
    assert all(c.text.endswith(("،", ".")) for c in by_clause)
    assert len(by_word) > 1 and all(len(c.text) <= MAX_CHARS for c in by_word)
    assert all(not c.text.startswith("ord") for c in by_word)  # cut between words, never inside one
    joined = " ".join(c.text for c in by_word)
    assert all(f"word{i}" in joined for i in range(400))


def test_one_endless_word_is_cut_hard():
    chunks = split([Section("x" * 3000)])

    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert "".join(c.text for c in chunks).count("x") >= 3000


def test_chunks_never_span_two_headings_and_keep_the_page_they_start_on():
    sections = [
        Section("Page one text.", page=1, heading="Returns"),
        Section("Page two text.", page=2, heading="Returns"),
        Section("الشحن مجاني.", page=2, heading="الشحن"),
    ]

    chunks = split(sections)

    assert [(c.text, c.page, c.heading, c.position) for c in chunks] == [
        ("Page one text.\n\nPage two text.", 1, "Returns", 0),
        ("الشحن مجاني.", 2, "الشحن", 1),
    ]


def test_empty_sections_make_no_chunks():
    assert split([Section("   \n\n  "), Section("")]) == []


def test_a_chunk_long_enough_ends_at_a_page_break():
    page_one = _sentences(30, "Page one sentence %d.")  # ~690 characters: below MIN_CHARS
    page_two = _sentences(10, "Page two sentence %d.")
    page_three = _sentences(10, "Page three sentence %d.")

    chunks = split([Section(page_one, page=1), Section(page_two, page=2), Section(page_three, page=3)])

    assert [
        (c.page, c.text.count("Page one"), c.text.count("Page two"), c.text.count("Page three")) for c in chunks
    ] == [
        (1, 30, 10, 0),  # page one was too short to end there
        (3, 0, 10, 10),  # the overlap (page two's short paragraph, whole), then page three
    ]
