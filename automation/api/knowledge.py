"""Knowledge bases API (the seed's `knowledge-bases/` shapes): CRUD, document upload (multipart, processed in the
background), the documents and their statuses, delete a document, and a search to test what a bot would retrieve.

Every member reads and searches (agents look answers up too); admins create, change, upload and delete."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsOrgMember
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from automation import llm
from automation.models.knowledge import Document, KnowledgeBase
from automation.selectors import knowledge as selectors
from automation.services import knowledge as services
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import StrictSerializer

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Not allowed"), (404, "Not found")]
)
SEARCH_LIMIT_MAX = 20


class KnowledgeBaseSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(source="active")
    total_chunks = serializers.IntegerField(source="chunk_count", help_text="Chunks of its ready documents")

    class Meta:
        model = KnowledgeBase
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "document_count",
            "total_chunks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class KnowledgeBaseInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="Inactive: bots do not retrieve from it")


class DocumentSerializer(serializers.ModelSerializer):
    knowledge_base_id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(source="name", read_only=True)
    file_size = serializers.IntegerField(source="size", read_only=True, help_text="Bytes")
    status = serializers.ChoiceField(
        choices=Document.Status.choices,
        read_only=True,
        help_text="pending (queued), processing, ready (searchable) or failed (see error)",
    )
    error = serializers.CharField(read_only=True, help_text="Why it failed; blank otherwise")
    warning = serializers.CharField(read_only=True, help_text="Ready with a caveat (e.g. without vectors); or blank")

    class Meta:
        model = Document
        fields = [
            "id",
            "knowledge_base_id",
            "filename",
            "file_type",
            "file_size",
            "status",
            "error",
            "warning",
            "chunk_count",
            "page_count",
            "created_at",
            "processed_at",
        ]
        read_only_fields = fields


class UploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="PDF, DOCX, TXT or Markdown, at most 10 MB (the type is read from the content)"
    )


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="The question")
    limit = serializers.IntegerField(required=False, default=5, min_value=1, max_value=SEARCH_LIMIT_MAX)


class HitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_name = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField(
        help_text="0..1: the share of the question's words (weighted by rarity) the passage holds; with vectors, "
        "the better of that and the cosine similarity"
    )
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField()


class SearchSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=["bm25", "hybrid"], help_text="hybrid: BM25 and vectors fused (RRF)")
    results = HitSerializer(many=True)


@extend_schema_view(
    list=extend_schema(responses={200: KnowledgeBaseSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: KnowledgeBaseSerializer, **ERRORS}),
    create=extend_schema(request=KnowledgeBaseInputSerializer, responses={201: KnowledgeBaseSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=KnowledgeBaseInputSerializer(partial=True), responses={200: KnowledgeBaseSerializer, **ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["knowledge bases"])
class KnowledgeBaseViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Knowledge bases: documents (PDF, DOCX, TXT, Markdown) whose passages bots answer from. Members read and
    search; admins write. Deleting one deletes its documents, their chunks and files."""

    serializer_class = KnowledgeBaseSerializer
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.knowledge_base_list)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        return [IsOrgMember() if self.request.method in ("GET", "HEAD", "OPTIONS") else IsAdmin()]

    def _input(self, *, partial: bool) -> dict:
        serializer = KnowledgeBaseInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if "is_active" in fields:
            fields["active"] = fields.pop("is_active")
        return fields

    def create(self, request):
        kb = services.knowledge_base_create(organization=request.org, actor=request.user, **self._input(partial=False))
        return Response(KnowledgeBaseSerializer(kb).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        kb = services.knowledge_base_update(
            knowledge_base=self.get_object(), actor=request.user, **self._input(partial=True)
        )
        return Response(KnowledgeBaseSerializer(kb).data)

    def perform_destroy(self, instance):
        services.knowledge_base_delete(knowledge_base=instance, actor=self.request.user)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: DocumentSerializer,
            413: OpenApiResponse(DetailSerializer, description="File too large (over 10 MB)"),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request, pk=None):
        """Upload a document (multipart `file`): stored as `pending` and processed in the background (text
        extracted, split into passages, indexed); follow its `status` in `documents`. A scanned PDF (no text
        layer), a password-protected or damaged file ends `failed` with the reason."""
        kb = self.get_object()
        length = request.META.get("CONTENT_LENGTH", "")
        services.upload_size_check(size=int(length) if length.isdigit() else None)
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = services.document_upload(
            knowledge_base=kb, actor=request.user, file=serializer.validated_data["file"]
        )
        document.refresh_from_db()
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: DocumentSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"])
    def documents(self, request, pk=None):
        """The knowledge base's documents, newest first, with their processing status."""
        queryset = selectors.document_list(org=request.org, knowledge_base=self.get_object())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    def _document(self, doc_id: str) -> Document:
        document = selectors.document_list(org=self.request.org, knowledge_base=self.get_object()).filter(pk=doc_id)
        found = document.first()
        if found is None:
            raise NotFound()
        return found

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("doc_id", int, OpenApiParameter.PATH)],
        responses={200: DocumentSerializer, **ERRORS},
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[OpenApiParameter("doc_id", int, OpenApiParameter.PATH)],
        responses={204: None, **ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "delete"],
        url_path=r"documents/(?P<doc_id>\d{1,18})",
        url_name="document",
    )
    def document(self, request, pk=None, doc_id=None):
        """One document (GET), or delete it with its passages and file (DELETE, admins)."""
        document = self._document(doc_id)
        if request.method == "DELETE":
            services.document_delete(document=document, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(DocumentSerializer(document).data)

    @extend_schema(parameters=[SearchQuerySerializer], responses={200: SearchSerializer, **ERRORS})
    @action(detail=True, methods=["get"])
    def search(self, request, pk=None):
        """The passages a bot would retrieve for question `q`, best first, with their scores (0..1): BM25 over
        normalised, stemmed words (Arabic and English), fused with vector search when an embedding model is set.
        An empty `q` finds nothing."""
        kb = self.get_object()
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        text = query.validated_data.get("q", "")
        hits = selectors.knowledge_base_search(
            org=request.org, knowledge_base=kb, query=text, limit=query.validated_data["limit"]
        )
        mode = "hybrid" if llm.embeddings_configured(request.org) else "bm25"
        body = {"query": text, "mode": mode, "results": [hit.__dict__ for hit in hits]}
        return Response(SearchSerializer(body).data)


router = Router()
router.register("knowledge-bases", KnowledgeBaseViewSet, basename="knowledge-base")
urlpatterns = router.urls
