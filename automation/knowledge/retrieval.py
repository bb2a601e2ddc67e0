"""Retrieval from knowledge bases: BM25 over normalised, stemmed tokens, fused with vector search when the
organization has an embedding model. Works offline on SQLite and PostgreSQL; never crosses organizations.

`search(organization_id=, knowledge_base_ids=, query=, limit=5) -> list[Hit]`, best first.

The score of a hit (0..1, comparable to a threshold)
- Lexical (always): the BM25 score divided by the score of an ideal passage, one that holds every word of the
  question once and is of average length; capped at 1. So 1.0 means every (non stop) word of the question is in the
  passage, 0.5 about half of the question's weight (rare words weigh more: BM25's IDF), 0 none. A question word the
  knowledge base never uses counts against the score: a question about something the documents do not cover scores
  low, which is what a bot's "no answer above the threshold" handoff needs.
- With vectors (an embedding model configured, chunks embedded with it): candidates are ranked by reciprocal rank
  fusion (k = 60) of the BM25 ranking and the cosine ranking, and the score is the better of the lexical score and
  the cosine similarity (clipped to 0..1).
Hits with a score of 0 are left out.

Speed: each process keeps the index of a knowledge base in memory (postings as numpy arrays, BM25's saturation
precomputed; vectors as one float32 matrix), keyed by the knowledge base's `version`, which changes with its chunks;
a search costs one query for the versions, array arithmetic, and one query for the hits' rows.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

import numpy as np

from automation.knowledge.normalize import tokens as tokenize

logger = logging.getLogger(__name__)

K1, B = 1.2, 0.75
RRF_K = 60
CANDIDATES = 50  # per ranking, before fusion
MAX_LIMIT = 50
PROCLITICS = frozenset("لبوفك")
MAX_CACHED_CHUNKS = 300_000  # over every cached index of the process (least recently used dropped first)


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    document_id: int
    document_name: str
    text: str
    score: float
    page: int | None
    heading: str


@dataclass
class Index:
    """One knowledge base's chunks, ready to score."""

    knowledge_base_id: int
    version: int
    embedding_model: str
    chunk_ids: np.ndarray  # int64, one per chunk
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # token -> (chunk positions int32, saturated tf float32)
    vectors: np.ndarray | None  # float32 unit rows, for chunks with a vector of `embedding_model`
    vector_rows: np.ndarray | None  # their positions in chunk_ids

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    def resolve(self, token: str) -> str:
        """A question's token as this index knows it: an Arabic word with a one-letter proclitic (ل ب و ف ك) the
        stemmer kept ("لجودبدر", "بفجرزاد": a name it has no rule for) and that the documents never use is read
        without it when the documents use that ("جودبدر"). The stemmer cannot know a proper noun's first letter
        is not a preposition; the index's vocabulary does."""
        if token in self.postings or len(token) < 4 or token[0] not in PROCLITICS:
            return token
        return token[1:] if token[1:] in self.postings else token

    def idf(self, token: str) -> float:
        """BM25's (Lucene's, never negative) IDF; a token absent from the knowledge base gets the highest."""
        df = len(self.postings[token][0]) if token in self.postings else 0
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))


def build_index(*, knowledge_base_id: int, version: int, embedding_model: str) -> Index:
    """Read a knowledge base's chunks and index them (BM25 postings; vectors made with `embedding_model`)."""
    from automation.models.knowledge import Chunk

    fields = ["id", "tokens"] + (["vector", "embedding_model"] if embedding_model else [])
    rows = Chunk.objects.filter(knowledge_base_id=knowledge_base_id).order_by("id").values_list(*fields)
    ids: list[int] = []
    lengths: list[int] = []
    term_rows: dict[str, list[int]] = {}
    term_tfs: dict[str, list[int]] = {}
    vectors: list[np.ndarray] = []
    vector_rows: list[int] = []
    for position, row in enumerate(rows.iterator(chunk_size=2000)):
        ids.append(row[0])
        counts = Counter(row[1].split())
        lengths.append(sum(counts.values()))
        for token, count in counts.items():
            term_rows.setdefault(token, []).append(position)
            term_tfs.setdefault(token, []).append(count)
        if embedding_model and row[2] is not None and row[3] == embedding_model:
            vectors.append(np.frombuffer(bytes(row[2]), dtype=np.float32))
            vector_rows.append(position)
    lengths_array = np.asarray(lengths, dtype=np.float32)
    average = float(lengths_array.mean()) if len(lengths) and lengths_array.mean() > 0 else 1.0
    norm = K1 * (1 - B + B * lengths_array / average)
    postings = {}
    for token, positions in term_rows.items():
        where = np.asarray(positions, dtype=np.int32)
        tf = np.asarray(term_tfs[token], dtype=np.float32)
        postings[token] = (where, tf * (K1 + 1) / (tf + norm[where]))
    matrix = rows_index = None
    if vectors and len({len(v) for v in vectors}) == 1:
        matrix = np.vstack(vectors)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        rows_index = np.asarray(vector_rows, dtype=np.int64)
    return Index(
        knowledge_base_id=knowledge_base_id,
        version=version,
        embedding_model=embedding_model,
        chunk_ids=np.asarray(ids, dtype=np.int64),
        postings=postings,
        vectors=matrix,
        vector_rows=rows_index,
    )


class IndexCache:
    """The process's indexes, least recently used dropped past MAX_CACHED_CHUNKS. An index is built again when its
    knowledge base's version (or the embedding model) differs from the one it was built at."""

    def __init__(self) -> None:
        self._indexes: OrderedDict[int, Index] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, *, knowledge_base_id: int, version: int, embedding_model: str) -> Index:
        with self._lock:
            index = self._indexes.get(knowledge_base_id)
            if index is not None and index.version == version and index.embedding_model == embedding_model:
                self._indexes.move_to_end(knowledge_base_id)
                return index
            index = build_index(knowledge_base_id=knowledge_base_id, version=version, embedding_model=embedding_model)
            self.builds += 1
            self._indexes[knowledge_base_id] = index
            self._indexes.move_to_end(knowledge_base_id)
            while len(self._indexes) > 1 and sum(i.size for i in self._indexes.values()) > MAX_CACHED_CHUNKS:
                self._indexes.popitem(last=False)
            return index

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()


cache = IndexCache()


def _lexical(index: Index, query_tokens: list[str]) -> list[tuple[float, int]]:
    """(normalised BM25 score, chunk id) of the best CANDIDATES chunks with a score, best first."""
    if not query_tokens or not index.size:
        return []
    query_tokens = list(dict.fromkeys(index.resolve(token) for token in query_tokens))
    ideal = sum(index.idf(token) for token in query_tokens)  # the score of a passage holding each word once
    scores = np.zeros(index.size, dtype=np.float32)
    for token in query_tokens:
        if token in index.postings:
            where, saturated = index.postings[token]
            scores[where] += index.idf(token) * saturated
    found = np.flatnonzero(scores)
    if not len(found):
        return []
    if len(found) > CANDIDATES:
        found = found[np.argpartition(-scores[found], CANDIDATES - 1)[:CANDIDATES]]
    found = found[np.argsort(-scores[found], kind="stable")]
    return [(float(scores[i]) / ideal, int(index.chunk_ids[i])) for i in found]


def _semantic(index: Index, query_vector: np.ndarray) -> list[tuple[float, int]]:
    """(cosine, chunk id) of the CANDIDATES chunks closest to the query vector, best first."""
    if index.vectors is None or index.vectors.shape[1] != query_vector.shape[0]:
        return []
    cosines = index.vectors @ query_vector
    best = np.argsort(-cosines, kind="stable")[:CANDIDATES]
    return [(float(cosines[i]), int(index.chunk_ids[index.vector_rows[i]])) for i in best if cosines[i] > 0]


def _query_vector(organization_id: int, query: str) -> np.ndarray | None:
    from accounts.models import Organization
    from automation import llm

    try:
        [vector] = llm.embed(organization=Organization(pk=organization_id), texts=[query])
    except llm.LLMError as exc:
        logger.warning("knowledge: no query vector for org %s (%s); BM25 alone", organization_id, exc.code)
        return None
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else None


def search(
    *,
    organization_id: int,
    knowledge_base_ids: list[int],
    query: str,
    limit: int = 5,
    include_inactive: bool = False,
) -> list[Hit]:
    """The passages of these knowledge bases (the organization's own; others are ignored, as are inactive ones
    unless `include_inactive`) that best answer `query`, best first, at most `limit` (1..50). See the module's
    docstring for what the score means."""
    from automation import llm
    from automation.models.knowledge import Chunk, KnowledgeBase

    limit = max(1, min(int(limit), MAX_LIMIT))
    query = (query or "").strip()[:2000]
    if not query or not knowledge_base_ids:
        return []
    bases = KnowledgeBase.objects.filter(organization_id=organization_id, pk__in=list(knowledge_base_ids))
    if not include_inactive:
        bases = bases.filter(active=True)
    versions = list(bases.values_list("pk", "version"))
    if not versions:
        return []
    model = llm.embedding_model_for(_Org(organization_id))
    indexes = [cache.get(knowledge_base_id=pk, version=version, embedding_model=model) for pk, version in versions]
    query_tokens = list(dict.fromkeys(tokenize(query)))

    lexical = sorted((hit for index in indexes for hit in _lexical(index, query_tokens)), reverse=True)[:CANDIDATES]
    lexical_scores = {chunk_id: score for score, chunk_id in lexical}
    semantic: list[tuple[float, int]] = []
    if model and any(index.vectors is not None for index in indexes):
        vector = _query_vector(organization_id, query)
        if vector is not None:
            semantic = sorted((hit for index in indexes for hit in _semantic(index, vector)), reverse=True)
            semantic = semantic[:CANDIDATES]
    if semantic:
        fused: dict[int, float] = {}
        for ranking in (lexical, semantic):
            for rank, (_, chunk_id) in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        cosines = {chunk_id: score for score, chunk_id in semantic}
        order = sorted(fused, key=lambda chunk_id: -fused[chunk_id])
        scores = {c: max(min(lexical_scores.get(c, 0.0), 1.0), min(max(cosines.get(c, 0.0), 0.0), 1.0)) for c in order}
    else:
        order = [chunk_id for _, chunk_id in lexical]
        scores = {chunk_id: min(score, 1.0) for chunk_id, score in lexical_scores.items()}
    chosen = [chunk_id for chunk_id in order if scores[chunk_id] > 0][:limit]
    if not chosen:
        return []
    rows = Chunk.objects.filter(organization_id=organization_id, pk__in=chosen).values_list(
        "id", "document_id", "document__name", "text", "page", "heading"
    )
    by_id = {row[0]: row for row in rows}
    return [
        Hit(
            chunk_id=chunk_id,
            document_id=by_id[chunk_id][1],
            document_name=by_id[chunk_id][2],
            text=by_id[chunk_id][3],
            score=round(scores[chunk_id], 4),
            page=by_id[chunk_id][4],
            heading=by_id[chunk_id][5],
        )
        for chunk_id in chosen
        if chunk_id in by_id  # deleted since the index was built
    ]


@dataclass(frozen=True)
class _Org:
    """What the LLM client needs of an organization here: its id."""

    pk: int
