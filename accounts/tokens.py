"""API tokens: hashed at rest, shown once, expiring, and ended with the credentials they stood for.

A key is 256 random bits (URL-safe base64); the database keeps only its SHA-256 digest (a plain
hash is enough for a secret of that entropy, and survives a SECRET_KEY rotation) and its first
characters as a non-secret prefix. All of a user's tokens end when the password changes (portal,
reset, shell: a post_save safety net in accounts.signals catches every `set_password` + `save`) or
two-factor authentication is turned on or off (accounts.twofactor, with a post_delete safety net
on confirmed authenticator devices). Every creation and revocation is audited, never with the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User
from core.audit import audit_record
from core.errors import Conflict, NotFound

KEY_BYTES = 32
PREFIX_LENGTH = 8
# last_used_at is written at most this often per token, so authenticating is not a write per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenLimitReached(Conflict):
    default_code = "TOKEN_LIMIT"


class CredentialsChanged(Conflict):
    default_code = "CREDENTIALS_CHANGED"


class TokenNotFound(NotFound):
    default_code = "NOT_FOUND"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_ttl() -> dt.timedelta:
    return dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)


# --- Reads ---------------------------------------------------------------------------------------

def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's tokens, newest first (expired ones included until the next token is made)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_authenticate(key: str) -> ApiToken | None:
    """The token whose digest matches `key` (with its user), or None; expiry is the caller's check."""
    if not key or len(key) > 200:
        return None
    from django_otp.plugins.otp_totp.models import TOTPDevice

    # Whether the owner has 2FA on comes with the token (one query for both): money-moving requests
    # ask it on every call (accounts.twofactor.user_has_2fa).
    confirmed = TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
    token = (ApiToken.objects.select_related("user").annotate(owner_has_2fa=Exists(confirmed))
             .filter(digest=token_digest(key)).first())
    if token is not None:
        token.user.has_2fa_loaded = token.owner_has_2fa  # type: ignore[attr-defined]  # a per-request cache
    return token


def api_token_touch(token: ApiToken) -> None:
    """Record use at most once a minute per token; the condition also holds between concurrent requests."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)).update(last_used_at=now)
    token.last_used_at = now


# --- Writes --------------------------------------------------------------------------------------

@transaction.atomic
def api_token_create(*, user: User, name: str = "", actor: User | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns (token, key): the key exists only in this return value.

    The user's expired tokens are cleared first; more than API_TOKEN_MAX_PER_USER live tokens are
    refused (TOKEN_LIMIT), so a script that signs in on every run cannot pile them up unnoticed.
    """
    # The user row lock serialises token writes per user (the limit below; the mass revocation takes it
    # too), and a password changed since `user` was loaded (a sign-in racing a password change) refuses.
    current = User.objects.select_for_update().filter(pk=user.pk).values_list("password", flat=True).first()
    if current is None or current != user.password:
        raise CredentialsChanged(_("Your password has just changed: sign in again."))
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    limit = settings.API_TOKEN_MAX_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise TokenLimitReached(_("You have %(count)s active API tokens, the most allowed: revoke one you no "
                                  "longer use first.") % {"count": limit})
    key = secrets.token_urlsafe(KEY_BYTES)
    token = ApiToken.objects.create(user=user, name=name.strip(), prefix=key[:PREFIX_LENGTH],
                                    digest=token_digest(key), created_at=now, expires_at=now + token_ttl())
    audit_record(actor=actor or user, action="account.api_token_create", obj=token,
                 after={"user": user.pk, "name": token.name, "prefix": token.prefix, "expires_at": token.expires_at})
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: Any, actor: User | None = None) -> None:
    """Revoke one of `user`'s own tokens; anyone else's (or an unknown id) is NOT_FOUND."""
    token_id = str(token_id)
    token = None
    if token_id.isascii() and token_id.isdigit() and len(token_id) <= 18:
        token = ApiToken.objects.select_for_update().filter(user=user, pk=int(token_id)).first()
    if token is None:
        raise TokenNotFound(_("No such API token."))
    before = {"user": token.user_id, "name": token.name, "prefix": token.prefix}
    audit_record(actor=actor or user, action="account.api_token_revoke", obj=token, before=before, after={})
    token.delete()


@transaction.atomic
def api_tokens_revoke_all(*, user: User, reason: str, actor: User | None = None) -> int:
    """End every token of `user` (password change, reset, 2FA on/off); audited when there were any."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    # list[Any]: the plugin names the row type anew on each of mypy's passes over this function
    tokens: list[Any] = list(ApiToken.objects.select_for_update().filter(user=user).order_by("id")
                             .values_list("id", "prefix", named=True))
    if not tokens:
        return 0
    ApiToken.objects.filter(pk__in=[t.id for t in tokens]).delete()
    audit_record(actor=actor if actor is not None else user, action="account.api_tokens_revoke_all", obj=user,
                 before={"tokens": [{"id": t.id, "prefix": t.prefix} for t in tokens]},
                 after={"count": len(tokens), "reason": reason})
    return len(tokens)
