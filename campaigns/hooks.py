"""What campaigns announce to the apps above them (automation), which they never import. Those subscribe in their
AppConfig.ready():

    hooks.campaign_completed.connect(automation.events.on_campaign_completed)

Sent after the commit (messaging.hooks.Hook): subscribers get keyword arguments only; one that raises is logged and
the others still run.
"""

from messaging.hooks import Hook

campaign_completed = Hook(
    "campaign_completed", "organization_id, campaign_id: a campaign finished sending (completed, once)."
)
