"""The API's side of per-number access (messaging/selectors/access.py)."""

from messaging.selectors.access import request_visible_numbers


class VisibleNumbersMixin:
    """For TenantScopedMixin views over rows of WhatsApp numbers (numbers, conversations, media): the selector also
    gets `number_ids`, the numbers the caller may see, so every route of the view answers a hidden row's id with the
    404 of another tenant's."""

    def selector_kwargs(self) -> dict:
        return {**super().selector_kwargs(), "number_ids": request_visible_numbers(self.request)}
