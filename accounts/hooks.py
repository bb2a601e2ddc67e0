"""What accounts announces to the apps built on it. Accounts imports none of them (messaging imports accounts);
they subscribe in their AppConfig.ready():

    hooks.organization_deleting.connect(erasure.organization_media_files_delete_on_commit)

so the subscribers are greppable in one place per app. Subscribers get keyword arguments only.
"""

from collections.abc import Callable


class Hook:
    """Subscribers called in order, inside the caller's transaction. Unlike messaging.hooks (called after the commit,
    where nothing can be undone any more), a subscriber that raises aborts the caller's write: a deletion that
    cannot clean up after itself does not happen."""

    def __init__(self, name: str, doc: str):
        self.name = name
        self.__doc__ = doc
        self.subscribers: list[Callable] = []

    def connect(self, subscriber: Callable) -> Callable:
        if subscriber not in self.subscribers:
            self.subscribers.append(subscriber)
        return subscriber

    def send(self, **kwargs) -> None:
        for subscriber in list(self.subscribers):
            subscriber(**kwargs)


organization_deleting = Hook(
    "organization_deleting",
    "organization: about to be deleted with every row it owns, in the deleting transaction. A subscriber reads what "
    "it needs from those rows now and leaves its cleanup (stored files, ...) to after the commit "
    "(whatsapp_hub.aftercommit): a rollback then changes nothing.",
)
