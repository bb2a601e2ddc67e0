"""Search tokens for Arabic and English text: the same function for documents and for questions.

A word is NFKC-normalised, loses its harakat and tatweel, and is stemmed with Snowball (Arabic or English by its
script); Arabic stems are then folded (إأآٱ→ا, ى→ي, ة→ه, ؤ→و, ئ→ي) and everything case-folded. Folding after the
stemmer, not before (but for the alef variants and ى): Snowball's Arabic stemmer strips the feminine ة and the
plural ات only in their own spelling (folding ة→ه first left "السياسة" as سياسه but "سياسة" as سياس). Two light
fixes around it: the article, with a preposition or conjunction stuck to it (ال، وال، بال، كال، فال، لل), is
taken off first (Snowball gave الضمان→الضم but ضمان→ضمان), and a plural ات the stemmer cut to ا
(معلومات→معلوما, against المعلومات→معلوم) loses its ا. Common question words and
particles of both languages are left out.

Without normalisation, diacritised Arabic ("الاسْتِرْجَاع") matches nothing; PostgreSQL's `simple` configuration and
SQLite's FTS5 keep the harakat.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

HARAKAT = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
ARABIC_FOLD = str.maketrans({"إ": "ا", "أ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
# Folded before the stemmer too: the alef variants, and ى (the stemmer strips a final ي, not ى: مجانى, مجاني).
# The article and the prepositions or conjunctions stuck to it, taken off before the stemmer: Snowball's own handling
# of them is erratic (الضمان gave الضم but ضمان gave ضمان).
ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
PRE_STEM_FOLD = str.maketrans({"إ": "ا", "أ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})
# Arabic-Indic and Eastern Arabic-Indic digits read as ASCII digits (NFKC leaves them): "٣٠٠" meets "300".
DIGITS = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}})
WORD = re.compile(r"[^\W_]+")
ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u0671-\u06D3]")
LATIN_LETTER = re.compile(r"[a-zA-Z\u00C0-\u024F]")

_ENGLISH_STOP = """a an the is are was were be been being am to of in on at by for from with about into as and or
    but if so
    do does did doing have has had i me my you your yours we us our it its he she they them their this that these
    those there here what which who whom whose how when where why can could would should will shall may might
    must please tell know want like get any some just also than then too very s t"""
_ARABIC_STOP = """في من على الى إلى عن مع هل ما ماذا لماذا كيف متى أين اين أي اي هو هي هم هن انا أنا انت أنت
    انتم أنتم نحن هذا هذه ذلك تلك هؤلاء التي الذي الذين اللذين او أو ثم لكن قد كان كانت يكون تكون كل بعض اذا إذا
    لو ان أن إن عند لدى لدي لديكم عندكم حتى بين فيه فيها منه منها عليه عليها به بها له لها لكم لنا يا و ف ب ل
    ك"""
ENGLISH_STOP = frozenset(_ENGLISH_STOP.split())
ARABIC_STOP = frozenset(HARAKAT.sub("", word).translate(ARABIC_FOLD) for word in _ARABIC_STOP.split())

_stemmers = threading.local()


def _stemmer(language: str):
    # Snowball stemmers keep state between calls: one per thread.
    stemmer = getattr(_stemmers, language, None)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(language)
        setattr(_stemmers, language, stemmer)
    return stemmer


def clean(text: str) -> str:
    """NFKC, no harakat or tatweel, ASCII digits: the text as the tokenizer reads it."""
    return HARAKAT.sub("", unicodedata.normalize("NFKC", text)).translate(DIGITS)


@lru_cache(maxsize=200_000)
def _token(word: str) -> str | None:
    """The search token of one word (already cleaned), None for a stop word."""
    if ARABIC_LETTER.search(word):
        folded = word.translate(ARABIC_FOLD)
        if folded in ARABIC_STOP:
            return None
        for article in ARTICLES:
            if word.startswith(article) and len(word) - len(article) >= 3:
                word = word[len(article) :]
                break
        word = word.translate(PRE_STEM_FOLD)
        stem = _stemmer("arabic").stemWord(word)
        if len(stem) > 3 and stem.endswith("ا") and (stem[:-1] + "ات") in word:
            stem = stem[:-1]
        return stem.translate(ARABIC_FOLD) or folded
    lowered = word.casefold()
    if lowered in ENGLISH_STOP:
        return None
    if LATIN_LETTER.search(lowered):
        return _stemmer("english").stemWord(lowered)
    return lowered


def tokens(text: str) -> list[str]:
    """The search tokens of a text, in order (repeats kept: BM25 counts them)."""
    found = []
    for word in WORD.findall(clean(text)):
        token = _token(word)
        if token:
            found.append(token)
    return found
