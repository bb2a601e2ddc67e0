"""Retrieval: normalisation, BM25 scores and what they mean, the quality floor on a labelled set in both
languages, tenancy, the per-process index cache, and vectors fused in when an embedding model is configured."""

import numpy as np
import pytest

from automation.knowledge import retrieval
from automation.knowledge.normalize import tokens
from automation.models.knowledge import Chunk
from automation.services import knowledge as services
from automation.services.ai import ai_settings_save
from tests.automation.knowledge_corpus import ARABIC, ENGLISH, QUESTIONS
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.fakes.openai import embedding_of


@pytest.fixture
def help_center(org):
    kb = knowledge_base(org)
    processed_document(kb, "faq-en.md", ENGLISH.encode())
    processed_document(kb, "faq-ar.md", ARABIC.encode())
    return kb


def _search(kb, query, **kwargs):
    return retrieval.search(organization_id=kb.organization_id, knowledge_base_ids=[kb.pk], query=query, **kwargs)


def test_harakat_tatweel_hamza_and_letter_variants_make_the_same_tokens():
    assert tokens("الاسْتِرْجَاعُ") == tokens("الاسترجاع") == tokens("والاسترجاع") == ["استرجاع"]
    assert tokens("إرجاع") == tokens("ارجاع") == tokens("أرجاع")
    assert tokens("مجانى") == tokens("مجاني")
    assert tokens("المكتبة") == tokens("مكتبة") == tokens("مكتبه")
    assert tokens("المعلومات") == tokens("معلومات")
    assert tokens("الشحـــن") == tokens("الشحن")
    assert tokens("طراز ٣٠٠ أو ۴۵") == tokens("طراز 300 او 45") == ["طراز", "300", "45"]


def test_english_words_are_stemmed_and_question_words_dropped():
    assert tokens("What is the shipping policy?") == ["ship", "polici"]
    assert tokens("Shipped POLICIES") == ["ship", "polici"]
    assert tokens("ما هي سياسة الشحن؟") == tokens("سياسة الشحن")


def test_top_three_hit_rate_on_the_labelled_questions_in_both_languages(help_center):
    """A floor, not a target: bench/kb_retrieval.py prints the figures on a larger set."""
    hits = {}
    for question, heading in QUESTIONS:
        found = [hit.heading for hit in _search(help_center, question, limit=3)]
        hits[question] = heading in found
    english = [hits[q] for q, _ in QUESTIONS[:10]]
    arabic = [hits[q] for q, _ in QUESTIONS[10:]]

    assert sum(english) / len(english) >= 0.9, hits
    assert sum(arabic) / len(arabic) >= 0.9, hits


def test_a_hit_carries_its_passage_document_and_place(help_center):
    [hit] = _search(help_center, "PayPal", limit=1)

    chunk = Chunk.objects.get(pk=hit.chunk_id)
    assert hit == retrieval.Hit(
        chunk_id=chunk.pk,
        document_id=chunk.document_id,
        document_name="faq-en.md",
        text="We accept Visa, Mastercard, PayPal and bank transfers. Cash on delivery is available in some cities.",
        score=hit.score,
        page=None,
        heading="Payment methods",
    )


def test_the_score_says_how_much_of_the_question_the_passage_holds(help_center):
    whole = _search(help_center, "warranty manufacturing defects", limit=1)[0]
    half = _search(help_center, "warranty submarine periscope", limit=1)[0]

    assert whole.score == 1.0
    assert 0.1 < half.score < 0.6
    assert _search(help_center, "submarine periscope") == []
    assert _search(help_center, "") == []
    assert _search(help_center, "the what how") == []  # nothing left after the stop words


def test_pages_come_back_with_pdf_hits(org):
    from tests.automation.knowledge_support import pdf_with_text

    kb = knowledge_base(org)
    welcome = [f"Welcome to the guide of the Acme phone, part {i} of the introduction." for i in range(12)]
    processed_document(kb, "guide.pdf", pdf_with_text([welcome, ["The warranty lasts two years"]]))

    [hit] = _search(kb, "warranty", limit=1)
    assert (hit.page, hit.document_name) == (2, "guide.pdf")


def test_search_never_crosses_organizations(help_center, other_org):
    theirs = knowledge_base(other_org, "Theirs")
    processed_document(theirs, "secret.txt", b"The launch code of the secret project is 4242.")

    mine = retrieval.search(
        organization_id=help_center.organization_id, knowledge_base_ids=[theirs.pk, help_center.pk], query="launch code"
    )
    theirs_found = retrieval.search(organization_id=other_org.pk, knowledge_base_ids=[theirs.pk], query="launch code")

    assert mine == []
    assert [hit.document_name for hit in theirs_found] == ["secret.txt"]


def test_inactive_knowledge_bases_are_skipped_unless_asked(help_center):
    services.knowledge_base_update(knowledge_base=help_center, actor=None, active=False)

    assert _search(help_center, "PayPal") == []
    assert _search(help_center, "PayPal", include_inactive=True)[0].heading == "Payment methods"


def test_several_knowledge_bases_are_searched_together(org, help_center):
    other = knowledge_base(org, "Products")
    processed_document(other, "products.txt", b"The Acme phone has a 6.1 inch screen and a PayPal wallet app.")

    found = retrieval.search(organization_id=org.pk, knowledge_base_ids=[help_center.pk, other.pk], query="PayPal")

    assert {hit.document_name for hit in found} == {"faq-en.md", "products.txt"}


def test_the_index_is_kept_until_the_knowledge_base_changes(help_center):
    retrieval.cache.clear()
    builds = retrieval.cache.builds
    _search(help_center, "PayPal")
    _search(help_center, "warranty")
    assert retrieval.cache.builds == builds + 1

    english = help_center.documents.get(name="faq-en.md")
    services.document_delete(document=english, actor=None)

    assert _search(help_center, "PayPal") == []
    assert retrieval.cache.builds == builds + 2
    assert _search(help_center, "الضمان")[0].heading == "الضمان"


def test_search_is_fast_enough_to_not_need_a_benchmark_here(help_center):
    """Two queries: the knowledge bases' versions, then the hits' rows (the index is in memory)."""
    _search(help_center, "warm the cache")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _search(help_center, "PayPal")
    assert len(queries.captured_queries) <= 3  # versions, the AI settings, the hits


# --- with an embedding model -------------------------------------------------------------------------------------


@pytest.fixture
def embedding_org(org, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test", embedding_model="text-embedding-3-small")
    return org


def test_chunks_get_float32_vectors_of_the_configured_model(embedding_org, fake_openai):
    kb = knowledge_base(embedding_org)
    document = processed_document(kb, "faq-en.md", ENGLISH.encode())

    chunk = Chunk.objects.get(document=document, heading="Warranty")
    assert chunk.embedding_model == "text-embedding-3-small"
    vector = np.frombuffer(bytes(chunk.vector), dtype=np.float32)
    assert vector.tolist() == pytest.approx(embedding_of(f"Warranty\n{chunk.text}"), abs=1e-6)
    assert [len(body["input"]) for body in fake_openai.embedding_requests()] == [8]


def test_hybrid_scores_are_the_better_of_words_and_cosine(embedding_org, fake_openai):
    kb = knowledge_base(embedding_org)
    processed_document(kb, "faq-en.md", ENGLISH.encode())
    query = "Is water damage covered by the warranty?"

    [hybrid] = _search(kb, query, limit=1)
    ai_settings_save(organization=embedding_org, actor=None, embedding_model="")
    [lexical] = _search(kb, query, limit=1)

    assert hybrid.heading == lexical.heading == "Warranty"
    cosine = float(np.dot(embedding_of(query), embedding_of(f"Warranty\n{hybrid.text}")))
    assert hybrid.score == pytest.approx(max(cosine, lexical.score), abs=1e-3)
    assert fake_openai.embedding_requests()[-1]["input"] == [query]


def test_without_a_query_vector_search_falls_back_to_words(embedding_org, fake_openai, monkeypatch):
    from automation import llm

    monkeypatch.setattr(llm, "BACKOFF_BASE", 0.01)
    kb = knowledge_base(embedding_org)
    processed_document(kb, "faq-en.md", ENGLISH.encode())
    fake_openai.fail_next(500, times=llm.MAX_ATTEMPTS)

    assert _search(kb, "PayPal", limit=1)[0].heading == "Payment methods"


def test_a_document_is_still_searchable_when_its_vectors_cannot_be_made(embedding_org, fake_openai):
    fake_openai.fail_next(401)
    kb = knowledge_base(embedding_org)

    document = processed_document(kb, "faq-en.md", ENGLISH.encode())

    assert document.status == "ready"
    assert document.warning == (
        "Searchable by its words only: the vectors could not be made (The AI provider refused the API key: check it "
        "in Settings, AI.)"
    )
    assert not Chunk.objects.filter(document=document, vector__isnull=False).exists()
    assert _search(kb, "PayPal", limit=1)[0].heading == "Payment methods"


def test_a_name_with_a_preposition_attached_is_found_by_the_name(org):
    kb = knowledge_base(org)
    text = "# جودبدر\nيأتي جودبدر 270 بضمان لمدة سنتين.\n# سماريم\nيأتي سماريم 300 بضمان لمدة سنة."
    processed_document(kb, "products.md", text.encode())

    [hit] = _search(kb, "كم مدة الضمان لجودبدر؟", limit=1)

    assert hit.text == "يأتي جودبدر 270 بضمان لمدة سنتين."


# --- the offline model (LOCAL_EMBEDDINGS) --------------------------------------------------------------------------

ARABIC_ONLY = """# الشحن

نشحن الطلبات إلى جميع مدن المملكة خلال ثلاثة أيام عمل، والشحن مجاني للطلبات فوق مئتي ريال.

# الإرجاع

يمكن إرجاع المنتج خلال أربعة عشر يوماً من الاستلام بشرط أن يكون في حالته الأصلية.
"""


def test_the_offline_model_finds_an_arabic_passage_for_an_english_question(org, settings):
    from automation import llm

    settings.LOCAL_EMBEDDINGS = True
    kb = knowledge_base(org)
    document = processed_document(kb, "faq-ar.md", ARABIC_ONLY.encode())

    assert llm.embedding_model_for(org) == llm.LOCAL_EMBEDDING_MODEL
    chunks = Chunk.objects.filter(document=document)
    assert {chunk.embedding_model for chunk in chunks} == {llm.LOCAL_EMBEDDING_MODEL}
    assert {len(np.frombuffer(bytes(chunk.vector), dtype=np.float32)) for chunk in chunks} == {512}
    # No word in common: only the vectors can match these.
    assert _search(kb, "How many days do I have to return a product?", limit=1)[0].heading == "الإرجاع"
    assert _search(kb, "Is delivery free?", limit=1)[0].heading == "الشحن"


def test_an_organizations_own_embedding_model_wins_over_the_offline_one(embedding_org, settings):
    from automation import llm

    settings.LOCAL_EMBEDDINGS = True

    assert llm.embedding_model_for(embedding_org) == "text-embedding-3-small"


def test_without_the_setting_there_are_no_vectors(org, settings):
    from automation import llm

    settings.LOCAL_EMBEDDINGS = False
    kb = knowledge_base(org)
    document = processed_document(kb, "faq-ar.md", ARABIC_ONLY.encode())

    assert (llm.embeddings_configured(org), llm.embedding_model_for(org)) == (False, "")
    assert set(Chunk.objects.filter(document=document).values_list("embedding_model", flat=True)) == {""}
