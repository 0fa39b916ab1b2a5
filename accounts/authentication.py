"""`Authorization: Token <key>` against hashed, expiring API tokens (accounts.tokens)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.tokens import api_token_authenticate, api_token_touch


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = _("This API token has expired: create a new one.")
    default_code = "TOKEN_EXPIRED"


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing (keyword "Token"), with the key looked up by its SHA-256 digest.

    An unknown key answers 401 AUTHENTICATION_FAILED as before; an expired one 401 TOKEN_EXPIRED.
    """

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = api_token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.expires_at <= timezone.now():
            raise TokenExpired()
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        api_token_touch(token)
        return token.user, token
