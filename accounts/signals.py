"""Safety nets at the model layer: credentials that change end the user's API tokens, whatever the path.

The services call `api_tokens_revoke_all` themselves where they can (two-factor on/off); these receivers
catch the paths that have no service of ours: Django's password change and reset views, `changepassword`,
the shell, and authenticator devices deleted outside accounts.twofactor.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.tokens import api_tokens_revoke_all


def _password_saved(sender: type, instance: User, created: bool, **kwargs: Any) -> None:
    # set_password() keeps the raw password in `_password` until save() has run the password_changed
    # hooks; check_password()'s hash upgrade clears it before saving, so a rehash on sign-in ends nothing.
    if created or getattr(instance, "_password", None) is None:
        return
    api_tokens_revoke_all(user=instance, reason="password_change")


def _authenticator_deleted(sender: type, instance: TOTPDevice, origin: Any = None, **kwargs: Any) -> None:
    if not instance.confirmed:
        return
    if isinstance(origin, User) or (isinstance(origin, QuerySet) and origin.model is User):
        return  # the user is being deleted: their tokens go with them
    api_tokens_revoke_all(user=User(pk=instance.user_id), reason="2fa_device_removed")


def connect() -> None:
    post_save.connect(_password_saved, sender=User, dispatch_uid="accounts.tokens.password_saved")
    post_delete.connect(_authenticator_deleted, sender=TOTPDevice, dispatch_uid="accounts.tokens.authenticator_deleted")
