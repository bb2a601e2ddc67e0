"""The automation app's tables, one module per area (knowledge bases, bots, flows, outbound webhooks)."""

from automation.models.bots import Bot
from automation.models.flows import CustomFunction, Flow, FlowRun, FlowRunStep, FlowVersion
from automation.models.numbers import NumberAutomation
from automation.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Bot",
    "CustomFunction",
    "Flow",
    "FlowRun",
    "FlowRunStep",
    "FlowVersion",
    "NumberAutomation",
    "WebhookDelivery",
    "WebhookEndpoint",
]
