"""The automation app's tables, one module per area (knowledge bases, bots, flows, outbound webhooks)."""

from automation.models.bots import Bot
from automation.models.flows import Flow
from automation.models.numbers import NumberAutomation

__all__ = ["Bot", "Flow", "NumberAutomation"]
from automation.models.ai import AISettings, AIUsage  # noqa: F401
from automation.models.bots import BotConversation, BotKnowledgeBase, BotReply, BotScenario  # noqa: F401
from automation.models.knowledge import Chunk, Document, KnowledgeBase  # noqa: F401
