"""The automation app's tables, one module per area (AI settings, knowledge bases, bots, flows, outbound webhooks)."""

from automation.models.ai import AISettings, AIUsage
from automation.models.bots import Bot, BotConversation, BotKnowledgeBase, BotReply, BotScenario
from automation.models.flows import CustomFunction, Flow, FlowRun, FlowRunStep, FlowVersion
from automation.models.knowledge import Chunk, Document, KnowledgeBase
from automation.models.numbers import NumberAutomation
from automation.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AISettings",
    "AIUsage",
    "Bot",
    "BotConversation",
    "BotKnowledgeBase",
    "BotReply",
    "BotScenario",
    "Chunk",
    "CustomFunction",
    "Document",
    "Flow",
    "FlowRun",
    "FlowRunStep",
    "FlowVersion",
    "KnowledgeBase",
    "NumberAutomation",
    "WebhookDelivery",
    "WebhookEndpoint",
]
