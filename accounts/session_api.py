"""The person's own sessions over the API (accounts.sessions): list them, end one, end all the others."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import sessions
from accounts.permissions import IsUser
from accounts.session_models import UserSession
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.schema import error_responses

ERRORS = error_responses([(401, "Not authenticated"), (403, "Not allowed"), (404, "Not found")])


class UserSessionSerializer(serializers.ModelSerializer):
    device = serializers.SerializerMethodField(help_text="Browser and system read from the user agent")
    current = serializers.SerializerMethodField(help_text="The session this request came with")

    class Meta:
        model = UserSession
        fields = ["id", "kind", "device", "user_agent", "ip", "created_at", "last_used_at", "expires_at", "current"]

    def get_device(self, session: UserSession) -> str:
        return sessions.device_label(session.user_agent)

    def get_current(self, session: UserSession) -> bool:
        return session.pk == self.context.get("current_id")


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many sessions were signed out")


@extend_schema(tags=["auth"], responses={200: UserSessionSerializer(many=True), **{c: ERRORS[c] for c in (401, 403)}})
class SessionListView(KnownQueryParamsMixin, ListAPIView):
    """The signed-in person's open sessions, most recently used first: each browser they signed in with and each API
    sign-in (its rotated refresh tokens), with the device read from its user agent, its address, when it started and
    was last used (to the minute). `current` marks the one making this request. API keys have no sessions (403)."""

    permission_classes = [IsUser]
    serializer_class = UserSessionSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return UserSession.objects.none()
        return sessions.user_sessions_open(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current_id": sessions.current_session_id(self.request)}


@extend_schema(tags=["auth"], responses={204: None, **ERRORS})
class SessionView(APIView):
    """Sign one of the person's sessions out, at once: a browser is signed out on its next request, an API session's
    refresh token can no longer refresh and its access tokens stop working. Another person's session, or one already
    ended, is a 404."""

    permission_classes = [IsUser]

    def delete(self, request, session_id: str):
        sessions.user_session_revoke(user=request.user, session_id=int(session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["auth"], request=None, responses={200: RevokedCountSerializer, **{c: ERRORS[c] for c in (401, 403)}}
)
class SessionRevokeOthersView(APIView):
    """Sign out every session of the person but the one making this request."""

    permission_classes = [IsUser]

    def post(self, request):
        revoked = sessions.user_sessions_revoke_others(
            user=request.user, current_id=sessions.current_session_id(request)
        )
        return Response({"revoked": revoked})
