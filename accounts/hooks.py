"""What accounts announces to the apps built on it. Accounts imports none of them (messaging imports accounts);
they subscribe in their AppConfig.ready():

    hooks.organization_deleting.connect(erasure.organization_media_files_delete_on_commit)

so the subscribers are greppable in one place per app. Subscribers get keyword arguments only.
"""

from whatsapp_hub.hooks import Hook

# Unlike messaging's hooks (called after the commit, where nothing can be undone any more), these are called inside
# the caller's transaction: a subscriber that raises aborts the write (a deletion that cannot clean up after itself
# does not happen).
organization_deleting = Hook(
    "organization_deleting",
    "organization: about to be deleted with every row it owns, in the deleting transaction. A subscriber reads what "
    "it needs from those rows now and leaves its cleanup (stored files, ...) to after the commit "
    "(whatsapp_hub.aftercommit): a rollback then changes nothing.",
)

# Who may act, and what they see, changed. Called inside the writing transaction like the hook above; a subscriber
# that acts outside the database (closing open live-inbox sockets) does it after the commit.
organization_suspended = Hook(
    "organization_suspended", "organization_id: the organization was suspended; none of its people or keys may act."
)
member_deactivated = Hook("member_deactivated", "organization_id, user_id: the member may no longer act there.")
member_signed_out = Hook(
    "member_signed_out", "organization_id, user_id: every session of the person was ended (accounts.sessions)."
)
sessions_ended = Hook(
    "sessions_ended",
    "user_id, session_ids: these sessions of the person ended (revoked, signed out: accounts.sessions); what was "
    "opened within them (live-inbox sockets) ends too.",
)
api_key_revoked = Hook("api_key_revoked", "organization_id, api_key_id: the key may no longer act.")
access_changed = Hook(
    "access_changed",
    "organization_id: a member's role or a team's members changed, so who sees which numbers may have.",
)

# Unlike the hooks above, called after the commit of the entries (by accounts.services' system log writers), with
# failures logged: the live push of new entries to the organization's admins subscribes here.
system_logs_written = Hook(
    "system_logs_written",
    "organization_id, logs: these SystemLog rows of the organization were just stored (committed), oldest first.",
)
