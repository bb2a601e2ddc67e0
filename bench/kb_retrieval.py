"""Benchmark: knowledge base retrieval at 10,000 chunks, English and Arabic, against PostgreSQL's own ts_rank.

Builds one knowledge base of generated product documentation (half English, half Arabic: warranty, price, shipping,
returns, battery, colours, weight and compatibility of made-up products, padded with common filler sentences to
700-1,100 characters a chunk), then asks labelled questions, each written as a customer would: other word forms
(batteries/battery, shipped/ship), Arabic with harakat, hamza variants, the article or a conjunction attached,
Arabic-Indic digits. A question hits when its passage is in the top 3.

Prints
- indexing: tokenising and storing the chunks, then building the in-process index (the first search);
- retrieval (automation.knowledge.retrieval.search, warm, the index in memory): p50/p99 per query, over all questions
  repeated, database round trips included;
- the top-3 hit rate per language;
- the baselines on the same rows and questions: ts_rank over a stored, GIN-indexed tsvector, the question's lexemes
  OR-ed (AND would find almost nothing), with the `simple` configuration, and with PostgreSQL's `english` and `arabic`
  stemming configurations per language: their p50/p99 and hit rates.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/kb_retrieval.py [--chunks 10000]

The database is migrated; the benchmark's organization is deleted at the end. Not a test: nothing is asserted.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # made-up keys
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from automation.knowledge import retrieval  # noqa: E402
from automation.knowledge.normalize import tokens  # noqa: E402
from automation.models.knowledge import Chunk, Document, KnowledgeBase  # noqa: E402
from tests.factories import OrganizationFactory  # noqa: E402

SEED = 20261130
TOPICS = ("warranty", "price", "shipping", "returns", "battery", "colors", "weight", "compatibility")

EN_FACTS = {
    "warranty": "The {p} comes with a {n}-year warranty that covers manufacturing defects and battery failures.",
    "price": "The {p} costs {price} dollars, and discounts apply to orders of {k} units or more.",
    "shipping": "Orders of the {p} ship from our {city} warehouse within {n} business days.",
    "returns": "You can return the {p} within {d} days if it is unused and still in its original box.",
    "battery": "The battery of the {p} lasts {h} hours and charges fully in {m} minutes.",
    "colors": "The {p} is available in {c1}, {c2} and {c3}.",
    "weight": "The {p} weighs {w} grams and measures {cm} centimetres across.",
    "compatibility": "The {p} works with {os1} and {os2} devices over Bluetooth.",
}
EN_QUESTIONS = {
    "warranty": ["How many years of warranty does the {p} have?", "Is the {p} covered if it has a defect?"],
    "price": ["How much does a {p} cost?", "Are there discounts when ordering several {p} units?"],
    "shipping": ["When will my {p} be shipped?", "Which warehouse ships the {p}?"],
    "returns": ["Can I return my {p} if I haven't used it?", "How many days do I have for returning the {p}?"],
    "battery": ["How long do the batteries of the {p} last?", "How fast does the {p} charge?"],
    "colors": ["Which colors is the {p} available in?", "Can I get the {p} in {c1}?"],
    "weight": ["How much does the {p} weigh?", "What does the {p} measure?"],
    "compatibility": ["Does the {p} work with {os1}?", "Is the {p} compatible with {os2} devices?"],
}
EN_FILLER = [
    "Our customers tell us they appreciate clear information before they buy.",
    "For anything not covered here, our support team answers every message within a day.",
    "We update this page whenever something changes, so check back before ordering.",
    "All figures on this page were measured in our own laboratory under normal conditions.",
    "Please keep your order number at hand when you contact us about this product.",
    "Prices and availability may differ slightly from one region to another.",
    "The product page in the shop shows the same details together with photos.",
    "Many of our products share accessories, which you can find in the accessories section.",
]
AR_FACTS = {
    "warranty": "يأتي {p} بضمان لمدة {n} سنوات يغطي عيوب التصنيع وأعطال البطارية.",
    "price": "سعر {p} هو {price} ريالاً، وتتوفر خصومات على الطلبات من {k} قطع أو أكثر.",
    "shipping": "تُشحن طلبات {p} من مستودعنا في {city} خلال {n} أيام عمل.",
    "returns": "يمكنك إرجاع {p} خلال {d} يوماً إذا كان غير مستخدم وفي علبته الأصلية.",
    "battery": "تدوم بطارية {p} لمدة {h} ساعات وتُشحن بالكامل خلال {m} دقيقة.",
    "colors": "يتوفر {p} باللون {c1} و{c2} و{c3}.",
    "weight": "يزن {p} {w} غراماً ويبلغ عرضه {cm} سنتيمتراً.",
    "compatibility": "يعمل {p} مع أجهزة {os1} و{os2} عبر البلوتوث.",
}
AR_QUESTIONS = {
    "warranty": ["هل يوجد ضَمانٌ على {p}؟", "كم سنة مدة الضمان ل{p}؟"],
    "price": ["كم سِعْرُ {p}؟", "هل هناك خصم عند طلب عدة قطع من {p}؟"],
    "shipping": ["من أي مستودع يشحن {p}؟", "متى تُشحَن الطلبات الخاصة ب{p}؟"],
    "returns": ["هل أستطيع ارجاع {p}؟", "كم يوما لدي لاعادة {p} في العلبة الاصلية؟"],
    "battery": ["كم تدوم البطاريه في {p}؟", "كم دقيقة يحتاج شحن بطارية {p} بالكامل؟"],
    "colors": ["ما هي الألوان المتوفرة ل{p}؟", "هل يتوفر {p} باللون {c1}؟"],
    "weight": ["كم وزن {p} بالغرام؟", "كم يزن {p}؟"],
    "compatibility": ["هل يعمل {p} مع {os1}؟", "هل {p} متوافق مع أجهزة {os2}؟"],
}
AR_FILLER = [
    "يقدّر عملاؤنا الحصول على معلومات واضحة قبل الشراء.",
    "لأي سؤال غير مذكور هنا يرد فريق الدعم على كل رسالة خلال يوم واحد.",
    "نحدّث هذه الصفحة كلما تغيّر شيء، لذا راجعها قبل الطلب.",
    "قيست جميع الأرقام في هذه الصفحة في مختبرنا في ظروف الاستخدام العادية.",
    "يرجى الاحتفاظ برقم الطلب عند التواصل معنا بخصوص هذا المنتج.",
    "قد تختلف الأسعار والتوفر قليلاً من منطقة إلى أخرى.",
    "تعرض صفحة المنتج في المتجر التفاصيل نفسها مع الصور.",
    "تشترك كثير من منتجاتنا في الملحقات، وتجدها في قسم الملحقات.",
]
EN_SYLLABLES = ["zor", "vex", "kal", "mir", "tan", "dro", "lum", "pex", "qua", "ris", "nov", "bel", "sar", "ton", "vik"]
AR_SYLLABLES = ["سما", "نور", "لين", "زاد", "رام", "هلا", "جود", "ريم", "فجر", "مدى", "بدر", "سهل", "ندى", "وعد", "غيم"]
EN_WORDS = {
    "city": ["Riyadh", "Dubai", "Cairo", "Amman", "Doha"],
    "color": ["black", "white", "silver", "blue", "green", "red", "gold"],
    "os": ["Android", "iOS", "Windows", "macOS", "Linux"],
}
AR_WORDS = {
    "city": ["الرياض", "دبي", "القاهرة", "عمّان", "الدوحة"],
    "color": ["الأسود", "الأبيض", "الفضي", "الأزرق", "الأخضر", "الأحمر", "الذهبي"],
    "os": ["أندرويد", "آيفون", "ويندوز", "ماك", "لينكس"],
}
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def product_names(rng: random.Random, syllables: list[str], count: int, arabic: bool) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        stem = "".join(rng.sample(syllables, 2))
        model = rng.choice([100, 200, 300, 500, 700, 900]) + rng.randint(0, 9) * 10
        names.add(f"{stem} {model}" if arabic else f"{stem.capitalize()} {model}")
    return sorted(names)


def generate(chunk_count: int):
    """(chunks as (language, heading, text), labelled questions as (language, question, chunk index))."""
    rng = random.Random(SEED)
    per_language = chunk_count // 2
    chunks, questions = [], []
    for language in ("en", "ar"):
        arabic = language == "ar"
        facts, asks, filler = (AR_FACTS, AR_QUESTIONS, AR_FILLER) if arabic else (EN_FACTS, EN_QUESTIONS, EN_FILLER)
        words = AR_WORDS if arabic else EN_WORDS
        products = product_names(rng, AR_SYLLABLES if arabic else EN_SYLLABLES, per_language // 4, arabic)
        for product in products:
            topics = list(TOPICS)
            rng.shuffle(topics)
            for pair in (topics[0:2], topics[2:4], topics[4:6], topics[6:8]):  # four chunks, two topics each
                values = {
                    "p": product,
                    "n": rng.randint(1, 5),
                    "price": rng.randint(20, 2000),
                    "k": rng.randint(3, 20),
                    "city": rng.choice(words["city"]),
                    "d": rng.choice([14, 30, 45, 60]),
                    "h": rng.randint(4, 40),
                    "m": rng.randint(20, 180),
                    "w": rng.randint(80, 3000),
                    "cm": rng.randint(5, 60),
                }
                values["c1"], values["c2"], values["c3"] = rng.sample(words["color"], 3)
                values["os1"], values["os2"] = rng.sample(words["os"], 2)
                sentences = [facts[topic].format(**values) for topic in pair]
                while sum(len(s) + 1 for s in sentences) < rng.randint(700, 1100):
                    sentences.insert(rng.randint(0, len(sentences)), rng.choice(filler))
                index = len(chunks)
                chunks.append((language, product, " ".join(sentences)))
                for topic in pair:
                    if rng.random() < 0.02:  # about 200 questions per 10,000 chunks
                        question = rng.choice(asks[topic]).format(**values)
                        if arabic and rng.random() < 0.3:
                            question = question.translate(ARABIC_INDIC)
                        questions.append((language, question, index))
    return chunks, questions


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, latencies: list[float], hits: dict[str, list[bool]]) -> None:
    rates = "  ".join(f"{lang} {sum(h) / len(h):6.1%} ({sum(h)}/{len(h)})" for lang, h in hits.items())
    every = [hit for h in hits.values() for hit in h]
    print(
        f"{label:<46} p50 {percentile(latencies, 0.5) * 1000:6.2f} ms  p99 {percentile(latencies, 0.99) * 1000:6.2f} ms"
        f"   top-3 hit rate {sum(every) / len(every):6.1%}   {rates}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="times each question is asked for the latencies")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("Give DATABASE_URL to PostgreSQL: the baseline is its ts_rank.")
    call_command("migrate", interactive=False, verbosity=0)

    generated, questions = generate(args.chunks)
    print(f"{len(generated)} chunks ({args.chunks // 2} per language), {len(questions)} labelled questions", flush=True)
    organization = OrganizationFactory(name="Bench KB", slug=f"bench-kb-{os.getpid()}")
    try:
        kb = KnowledgeBase.objects.create(organization=organization, name="Products", version=1)
        started = time.perf_counter()
        documents = {
            lang: Document.objects.create(
                organization=organization, knowledge_base=kb, name=f"products-{lang}.txt", file_type="txt",
                status="ready", chunk_count=sum(1 for g in generated if g[0] == lang),
            )
            for lang in ("en", "ar")
        }  # fmt: skip
        rows = [
            Chunk(
                organization=organization,
                knowledge_base=kb,
                document=documents[lang],
                position=index,
                text=text,
                heading=heading,
                tokens=" ".join(tokens(f"{heading}\n{text}")),
            )
            for index, (lang, heading, text) in enumerate(generated)
        ]
        tokenised = time.perf_counter()
        Chunk.objects.bulk_create(rows, batch_size=1000)
        KnowledgeBase.objects.filter(pk=kb.pk).update(chunk_count=len(rows), version=2)
        stored = time.perf_counter()
        chunk_ids = list(Chunk.objects.filter(knowledge_base=kb).order_by("position").values_list("id", flat=True))
        retrieval.cache.clear()
        built = time.perf_counter()
        retrieval.search(organization_id=organization.pk, knowledge_base_ids=[kb.pk], query="warm up")
        built = time.perf_counter() - built
        print(
            f"indexing: tokenise {tokenised - started:.2f} s, store {stored - tokenised:.2f} s, "
            f"build the in-process index (first search) {built:.2f} s",
            flush=True,
        )

        def ours(question: str) -> list[int]:
            hits = retrieval.search(
                organization_id=organization.pk, knowledge_base_ids=[kb.pk], query=question, limit=3
            )
            return [hit.chunk_id for hit in hits]

        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_kb_ts")
            cursor.execute(
                "CREATE TABLE bench_kb_ts AS SELECT c.id, c.knowledge_base_id, "
                "to_tsvector('simple', c.heading || ' ' || c.text) AS simple_tsv, "
                "to_tsvector(CASE WHEN d.name LIKE '%%-ar.txt' THEN 'arabic' ELSE 'english' END::regconfig, "
                "c.heading || ' ' || c.text) AS lang_tsv "
                "FROM automation_chunk c JOIN automation_document d ON d.id = c.document_id "
                "WHERE c.knowledge_base_id = %s",
                [kb.pk],
            )
            cursor.execute("CREATE INDEX bench_kb_ts_simple ON bench_kb_ts USING gin (simple_tsv)")
            cursor.execute("CREATE INDEX bench_kb_ts_lang ON bench_kb_ts USING gin (lang_tsv)")
            cursor.execute("ANALYZE bench_kb_ts")

        def ts_rank(column: str, config: str):
            sql = (
                f"WITH q AS (SELECT NULLIF(replace(plainto_tsquery(%s::regconfig, %s)::text, '&', '|'), '')::tsquery "
                f"AS q) SELECT id FROM bench_kb_ts, q WHERE knowledge_base_id = %s AND {column} @@ q.q "
                f"ORDER BY ts_rank({column}, q.q) DESC, id LIMIT 3"
            )

            def run(question: str, language: str) -> list[int]:
                cfg = config if config != "lang" else ("arabic" if language == "ar" else "english")
                with connection.cursor() as cursor:
                    cursor.execute(sql, [cfg, question, kb.pk])
                    return [row[0] for row in cursor.fetchall()]

            return run

        variants = {
            "ours: BM25 over normalised stems (in memory)": lambda q, lang: ours(q),
            "baseline: ts_rank, simple, lexemes OR-ed": ts_rank("simple_tsv", "simple"),
            "baseline: ts_rank, english/arabic, OR-ed": ts_rank("lang_tsv", "lang"),
        }
        print(f"retrieval, {len(questions)} questions x {args.rounds} rounds:", flush=True)
        for label, run in variants.items():
            hits: dict[str, list[bool]] = {"en": [], "ar": []}
            latencies = []
            for round_ in range(args.rounds):
                for language, question, index in questions:
                    started = time.perf_counter()
                    found = run(question, language)
                    latencies.append(time.perf_counter() - started)
                    if round_ == 0:
                        hits[language].append(chunk_ids[index] in found)
            report(label, latencies, hits)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_kb_ts")
        organization.delete()


if __name__ == "__main__":
    main()
