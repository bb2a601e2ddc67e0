"""The automation app's tables, one module per area (knowledge bases, bots, flows, outbound webhooks)."""

from automation.models.ai import AISettings, AIUsage  # noqa: F401
from automation.models.knowledge import Chunk, Document, KnowledgeBase  # noqa: F401
