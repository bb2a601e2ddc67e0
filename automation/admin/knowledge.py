"""Django admin of knowledge bases, documents and chunks, for platform staff: read-mostly (written through the
API's services: uploads are processed, counters and index versions kept); chunks are many, so no full count."""

from django.contrib import admin

from accounts.admin import TenantAdmin
from automation.models.knowledge import Chunk, Document, KnowledgeBase


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(TenantAdmin):
    list_display = ("name", "organization", "active", "document_count", "chunk_count", "updated_at")
    list_filter = ("active", "organization")
    search_fields = ("name", "organization__name")
    readonly_fields = ("document_count", "chunk_count", "version", "created_at", "updated_at")


@admin.register(Document)
class DocumentAdmin(TenantAdmin):
    list_display = (
        "name",
        "knowledge_base",
        "organization",
        "file_type",
        "size",
        "status",
        "chunk_count",
        "created_at",
    )
    list_filter = ("status", "file_type", "organization")
    list_select_related = ("organization", "knowledge_base")
    search_fields = ("name", "knowledge_base__name")
    raw_id_fields = ("organization", "knowledge_base", "uploaded_by")
    readonly_fields = (
        "file",
        "file_type",
        "size",
        "status",
        "error",
        "warning",
        "chunk_count",
        "page_count",
        "attempts",
        "processing_started_at",
        "processed_at",
    )


@admin.register(Chunk)
class ChunkAdmin(TenantAdmin):
    list_display = ("document", "position", "page", "heading", "organization")
    list_filter = ("organization",)
    list_select_related = ("organization", "document")
    search_fields = ("heading", "document__name")
    raw_id_fields = ("organization", "knowledge_base", "document")
    exclude = ("vector",)
    readonly_fields = ("tokens", "embedding_model")
    show_full_result_count = False
