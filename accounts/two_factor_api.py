"""Two-step sign-in over the API (accounts.two_factor): its state, enrolment, recovery codes, turning it off, the
trusted browsers, and the second step of a sign-in (auth/2fa/verify)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import two_factor
from accounts.permissions import IsUser
from accounts.two_factor_models import TrustedDevice
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import StrictSerializer

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Two-step sign-in is already on, or is not on"),
        (429, "Too many wrong codes (Retry-After)"),
    ]
)


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


class TwoFactorStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Two-step sign-in is on")
    enrolment_pending = serializers.BooleanField(help_text="A set-up was started and not confirmed yet")
    recovery_codes_left = serializers.IntegerField(help_text="Unused recovery codes")
    trusted_devices = serializers.IntegerField(help_text="Browsers that skip the second step")


class EnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The base32 secret, for typing into an authenticator app")
    otpauth_uri = serializers.CharField(help_text="otpauth://totp/... URI (what the QR code holds)")
    qr_png = serializers.CharField(help_text="The QR code as a data:image/png;base64 URI")


class CodeSerializer(StrictSerializer):
    code = serializers.CharField(max_length=16, help_text="The 6-digit code the authenticator app shows")


class ProofSerializer(StrictSerializer):
    code = serializers.CharField(max_length=16, required=False, allow_blank=True, help_text="A current code")
    password = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text="Or the account's password",
    )

    def validate(self, attrs):
        if not attrs.get("code") and not attrs.get("password"):
            raise serializers.ValidationError({"code": ["Give a current code or your password."]})
        return attrs


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Single-use codes, shown this once: keep them somewhere safe"
    )


class VerifySerializer(StrictSerializer):
    challenge = serializers.CharField(max_length=1000, help_text="The challenge of the sign-in's answer")
    code = serializers.CharField(max_length=16, required=False, allow_blank=True)
    recovery_code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    trust_device = serializers.BooleanField(
        required=False, default=False, help_text="Trust this client for 30 days (a cookie): no second step there"
    )

    def validate(self, attrs):
        if not attrs.get("code") and not attrs.get("recovery_code"):
            raise serializers.ValidationError({"code": ["Give a code or a recovery code."]})
        return attrs


class TwoFactorChallengeSerializer(serializers.Serializer):
    """A sign-in's answer when its second step is needed."""

    two_factor_required = serializers.BooleanField(default=True)
    challenge = serializers.CharField(help_text="Post it to auth/2fa/verify with a code, within 5 minutes")


class TrustedDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrustedDevice
        fields = ["id", "label", "user_agent", "created_at", "last_used_at", "expires_at"]


@extend_schema(tags=["auth"], responses={200: TwoFactorStatusSerializer, **_errors(401, 403)})
class TwoFactorStatusView(KnownQueryParamsMixin, APIView):
    """Whether the signed-in person has two-step sign-in on, with how many recovery codes and trusted browsers."""

    permission_classes = [IsUser]

    def get(self, request):
        user = request.user
        data = {
            "enabled": two_factor.is_enabled(user=user),
            "enrolment_pending": two_factor.enrolment_pending(user=user) is not None,
            "recovery_codes_left": two_factor.recovery_codes_left(user=user),
            "trusted_devices": two_factor.trusted_devices(user=user).count(),
        }
        return Response(data)


@extend_schema(tags=["auth"], request=None, responses={200: EnrolmentSerializer, **_errors(401, 403, 409)})
class EnrolmentStartView(APIView):
    """Start setting up an authenticator app: a new secret, its otpauth:// URI and QR code. Two-step sign-in is on
    only once auth/2fa/enrol/confirm checks a code of it. 409 when it is already on."""

    permission_classes = [IsUser]

    def post(self, request):
        enrolment = two_factor.two_factor_enrolment_start(user=request.user)
        return Response(EnrolmentSerializer(enrolment).data)


@extend_schema(
    tags=["auth"], request=CodeSerializer, responses={200: RecoveryCodesSerializer, **_errors(400, 401, 403, 409, 429)}
)
class EnrolmentConfirmView(APIView):
    """Confirm the set-up with a current code: two-step sign-in is on, and the answer holds the 10 recovery codes
    (shown this once)."""

    permission_classes = [IsUser]

    def post(self, request):
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        codes = two_factor.two_factor_enrolment_confirm(user=request.user, **serializer.validated_data)
        return Response({"recovery_codes": codes})


@extend_schema(tags=["auth"], request=ProofSerializer, responses={204: None, **_errors(400, 401, 403, 409, 429)})
class DisableView(APIView):
    """Turn two-step sign-in off, with a current code or the password: the recovery codes and trusted browsers go
    too."""

    permission_classes = [IsUser]

    def post(self, request):
        serializer = ProofSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        two_factor.two_factor_disable(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["auth"], request=ProofSerializer, responses={200: RecoveryCodesSerializer, **_errors(400, 401, 403, 409, 429)}
)
class RecoveryCodesView(APIView):
    """New recovery codes, with a current code or the password: the old ones stop working and every trusted browser
    is revoked."""

    permission_classes = [IsUser]

    def post(self, request):
        serializer = ProofSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        codes = two_factor.two_factor_recovery_codes_regenerate(user=request.user, **serializer.validated_data)
        return Response({"recovery_codes": codes})


@extend_schema(tags=["auth"], responses={200: TrustedDeviceSerializer(many=True), **_errors(401, 403)})
class TrustedDeviceListView(KnownQueryParamsMixin, ListAPIView):
    """The browsers that skip the second step (trusted for 30 days at a sign-in), most recently used first."""

    permission_classes = [IsUser]
    serializer_class = TrustedDeviceSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TrustedDevice.objects.none()
        return two_factor.trusted_devices(user=self.request.user)


@extend_schema(tags=["auth"], responses={204: None, **_errors(401, 403, 404)})
class TrustedDeviceView(APIView):
    """Revoke a trusted browser: its next sign-in asks for a code again. Another person's, or a revoked one: 404."""

    permission_classes = [IsUser]

    def delete(self, request, device_id: str):
        two_factor.trusted_device_revoke(user=request.user, device_id=int(device_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
