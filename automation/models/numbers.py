"""Which flow and which bot answer a business number's inbound messages (messaging's number never knows)."""

from django.db import models

from accounts.models import TenantModel
from automation.models.bots import Bot
from automation.models.flows import Flow
from messaging.models import WhatsAppNumber


class NumberAutomation(TenantModel):
    """A number's flow (its triggers are matched first) and bot (it answers what no flow took)."""

    number = models.OneToOneField(WhatsAppNumber, on_delete=models.CASCADE, related_name="automation")
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.SET_NULL, related_name="number_links")
    bot = models.ForeignKey(Bot, null=True, blank=True, on_delete=models.SET_NULL, related_name="number_links")

    def __str__(self) -> str:
        return f"number {self.number_id}: flow {self.flow_id}, bot {self.bot_id}"
