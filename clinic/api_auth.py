"""``/api/auth/``: ask for a token, revoke it, revoke all of one's tokens (issue 12, item 3).

``POST /api/auth/token/`` (JSON, form-encoded or multipart) with ``username`` and
``password`` answers ``{"token": ..., "expiry": ...}``; a missing field is a 400 naming it,
wrong credentials a 400, a locked-out username or address a 429 with ``detail`` (the
same for a username nobody has), too many requests from one address a 429.
"""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import logins, tokens
from clinic.schema import DETAIL
from clinic.throttles import TokenThrottle


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField()


TOO_MANY = OpenApiResponse(
    response=DETAIL,
    description="Locked out after too many failed log-ins (the username or the address), "
    "or too many requests from this address; `detail` says which and for how long.",
)


class TokenView(APIView):
    """``POST`` a ``username`` and ``password``; answers ``{"token": ..., "expiry": ...}``."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 429: TOO_MANY},
        auth=[],
    )
    def post(self, request):
        given = TokenRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        # axes watches authenticate(): it needs Django's request (its marks go there, and
        # its middleware reads them from there).
        user = authenticate(
            request._request,
            username=given.validated_data["username"],
            password=given.validated_data["password"],
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise LockedOut(
                    logins.lockout_message_for(
                        request._request, {"username": given.validated_data["username"]}
                    )
                )
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to log in with the username and password given."]}
            )
        instance, token = tokens.token_issue(user=user)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)


class LogoutView(APIView):
    """Revoke the token this request carries (knox's ``logout``)."""

    role_permissions = {"post": "account.tokens"}

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.auth is not None and hasattr(request.auth, "digest"):
            tokens.token_revoke(user=request.user, digest=request.auth.digest, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every token of the signed-in member of staff (knox's ``logoutall``)."""

    role_permissions = {"post": "account.tokens"}

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        tokens.tokens_revoke_all(user=request.user, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
