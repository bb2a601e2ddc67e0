"""Knowledge bases: documents an organization uploads, split into chunks that bots retrieve answers from.

A document is uploaded (`pending`), then a task extracts its text, splits it into chunks with their search tokens
(and vectors when the organization has an embedding model) and marks it `ready` (or `failed` with the reason).
The knowledge base's counters and `version` move in the same statements as its chunks: `version` changes whenever
its chunks do, and keys the retrieval index each process keeps in memory (automation/knowledge/retrieval.py).
"""

from django.db import models
from django.utils import timezone

from accounts.models import TenantModel


class KnowledgeBase(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    active = models.BooleanField(default=True, help_text="Inactive: bots do not retrieve from it")
    document_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0, help_text="Chunks of its ready documents")
    version = models.PositiveBigIntegerField(default=0, help_text="Changes whenever its chunks do")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Document(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class FileType(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        TXT = "txt", "Text"
        MD = "md", "Markdown"

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255, help_text="The uploaded file's name")
    file = models.FileField(max_length=255, blank=True)
    file_type = models.CharField(max_length=8, choices=FileType.choices, help_text="From the content, not the name")
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.CharField(max_length=500, blank=True, help_text="Why it failed")
    warning = models.CharField(max_length=500, blank=True, help_text="Ready, but e.g. without vectors")
    chunk_count = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["knowledge_base", "-created_at"], name="kb_document_kb_created")]

    def __str__(self) -> str:
        return self.name


class Chunk(TenantModel):
    """A passage of a document: its text, where it came from, its search tokens (normalised, stemmed, space
    separated) and, when the organization has an embedding model, its vector (float32 bytes) and that model."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField(help_text="Order in the document, from 0")
    text = models.TextField()
    page = models.PositiveIntegerField(null=True, blank=True)
    heading = models.CharField(max_length=300, blank=True)
    tokens = models.TextField(blank=True)
    vector = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="kb_chunk_position")]
        indexes = [models.Index(fields=["knowledge_base", "id"], name="kb_chunk_kb_id")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"
