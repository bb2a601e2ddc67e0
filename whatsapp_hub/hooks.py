"""The hook an app announces what happened through, to the apps built on it (which it never imports): a named list
of subscribers, connected in their AppConfig.ready() so the list is greppable in one place per app. Subscribers get
keyword arguments only. `send` calls them in order and lets a failure through; accounts.hooks uses it as it is (a
subscriber that raises aborts the caller's write), messaging.hooks after the commit, where failures are logged."""

from collections.abc import Callable


class Hook:
    def __init__(self, name: str, doc: str):
        self.name = name
        self.__doc__ = doc
        self.subscribers: list[Callable] = []

    def connect(self, subscriber: Callable) -> Callable:
        if subscriber not in self.subscribers:
            self.subscribers.append(subscriber)
        return subscriber

    def disconnect(self, subscriber: Callable) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)

    def send(self, **kwargs) -> None:
        for subscriber in list(self.subscribers):
            subscriber(**kwargs)
