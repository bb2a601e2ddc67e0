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
