"""The signed-in person's saved language wins over the browser's (LocaleMiddleware has read the browser's)."""

from django.utils import translation


class UserLanguageMiddleware:
    """After AuthenticationMiddleware and LocaleMiddleware: activates `user.language` when the person chose one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
