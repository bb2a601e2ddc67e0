"""Sections of a document into chunks of about MIN_CHARS to MAX_CHARS characters, split where the text allows.

A section is cut into paragraphs; a paragraph too long for a chunk into lines, then sentences (`. ! ? ؟ ۔`), then
clauses (`, ; : ، ؛`), then words: the largest pieces that fit. Pieces are packed in order into chunks up to
MAX_CHARS; each chunk but a section's first starts with the end of the chunk before it (its last sentence when that
is short, else about OVERLAP_CHARS of its last words), so a passage cut in two still reads whole in one of them. A
chunk never spans two headings, nor a page break once it holds MIN_CHARS; it keeps the page it starts on and its
heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from automation.knowledge.extract import Section

MAX_CHARS = 1200
MIN_CHARS = 800
OVERLAP_CHARS = 120
PIECE_CHARS = MAX_CHARS - 2 * OVERLAP_CHARS  # a piece leaves room for the overlap before it

# Each level splits after its separator, keeping it with the piece before.
LEVELS = (
    re.compile(r"\n\s*\n"),  # paragraphs
    re.compile(r"\n"),  # lines
    re.compile(r"(?<=[.!?؟۔…])[\"'”’»)\]]*\s+"),  # sentences (a closing quote or bracket stays with its sentence)
    re.compile(r"(?<=[,;:،؛])\s+"),  # clauses
    re.compile(r"\s+"),  # words
)
JOINERS = ("\n\n", "\n", " ", " ", " ")


@dataclass(frozen=True)
class ChunkDraft:
    text: str
    position: int
    page: int | None
    heading: str


@dataclass(frozen=True)
class _Piece:
    text: str
    joiner: str  # what joins it to the piece before (a paragraph break, a line break, a space)
    page: int | None
    heading: str


def _cut(text: str, level: int, joiner: str) -> list[tuple[str, str]]:
    """(piece, joiner) pairs, each piece at most PIECE_CHARS, split at the coarsest level that makes them fit."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= PIECE_CHARS:
        return [(text, joiner)]
    if level == len(LEVELS):  # one "word" longer than a chunk (a URL, a table cell run together): hard cuts
        return [(text[i : i + PIECE_CHARS], joiner if i == 0 else "") for i in range(0, len(text), PIECE_CHARS)]
    parts = [part for part in LEVELS[level].split(text) if part.strip()]
    if len(parts) == 1:
        return _cut(text, level + 1, joiner)
    pieces: list[tuple[str, str]] = []
    for index, part in enumerate(parts):
        pieces += _cut(part, level + 1, joiner if index == 0 else JOINERS[level])
    return _pack_small(pieces)


def _pack_small(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Neighbouring pieces joined back while they fit in one (sentences of one long paragraph, together again)."""
    packed: list[tuple[str, str]] = []
    for text, joiner in pieces:
        if packed and joiner and len(packed[-1][0]) + len(joiner) + len(text) <= PIECE_CHARS // 2:
            packed[-1] = (packed[-1][0] + joiner + text, packed[-1][1])
        else:
            packed.append((text, joiner))
    return packed


def _pieces(sections: Iterable[Section]) -> list[_Piece]:
    pieces = []
    for section in sections:
        for index, (text, joiner) in enumerate(_cut(section.text, 0, "\n\n")):
            pieces.append(_Piece(text, "\n\n" if index == 0 else joiner, section.page, section.heading))
    return pieces


def _overlap(previous: list[_Piece]) -> str:
    """The end of a chunk repeated at the start of the next: its last sentences when they are short (up to twice
    OVERLAP_CHARS), else about OVERLAP_CHARS of its last words."""
    last = previous[-1].text
    sentences = [s for s in LEVELS[2].split(last) if s.strip()]
    tail = ""
    for sentence in reversed(sentences):
        candidate = sentence.strip() + (" " + tail if tail else "")
        if len(candidate) > 2 * OVERLAP_CHARS:
            break
        tail = candidate
    if tail:
        return tail
    tail = last[-OVERLAP_CHARS:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < len(tail) - 1 else tail


def split(sections: Iterable[Section]) -> list[ChunkDraft]:
    """The chunks of a document's sections, in order (positions from 0)."""
    chunks: list[ChunkDraft] = []
    current: list[_Piece] = []
    lead = ""  # the overlap the current chunk starts with

    def text_of(pieces: list[_Piece], start: str) -> str:
        text = start
        for piece in pieces:
            text += (piece.joiner if text else "") + piece.text
        return text

    def emit() -> None:
        first = current[0]
        chunks.append(ChunkDraft(text_of(current, lead).strip(), len(chunks), first.page, first.heading))

    for piece in _pieces(sections):
        if current:
            same_heading = piece.heading == current[0].heading
            length = len(text_of(current, lead))
            size = length + len(piece.joiner) + len(piece.text)
            new_page = piece.page != current[-1].page and length >= MIN_CHARS
            if not same_heading or size > MAX_CHARS or new_page:
                emit()
                lead = _overlap(current) if same_heading else ""
                current = []
        current.append(piece)
    if current:
        emit()
    return chunks
