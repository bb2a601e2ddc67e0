"""Lead routing: new conversations dealt round-robin to the available members of a team.

A rule per WhatsApp number (or one for every number without its own) names the team whose members take the leads
and a cap of open conversations per member. Routing listens to messaging's hooks (messaging never imports crm):
a conversation a customer started is given to the next available member after the last one the rule chose; a
member is available when active, not away, an admin or agent who sees the number, and under the cap. When nobody
is, the conversation goes to the team, unassigned (its queue), and is dealt later: when a member comes back from
away or a conversation is closed. The assignment goes through messaging's conversation_update (audited, pushed).
"""
