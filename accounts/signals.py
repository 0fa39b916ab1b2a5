"""Model-layer safety nets: writes that bypass our services are still audited or still end credentials.

The one place this project uses signals. Group membership, group and user permissions and the
`is_staff` / `is_superuser` flags can be written by Django's admin, `manage.py shell` or any ORM call,
none of which go through a service: each change writes an audit event in the writing transaction
(m2m writes run in one), naming the request's user where there is one. Credentials that change
(a password, an authenticator removed outside accounts.twofactor) end the user's API tokens,
whatever the path: Django's password change and reset views, `changepassword`, the shell.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import current_actor
from accounts.models import User
from accounts.tokens import api_tokens_revoke_all
from core.audit import audit_record

ROLE_CHANGE = "accounts.role_change"
PERMISSION_CHANGE = "accounts.permission_change"
STAFF_FLAG_CHANGE = "accounts.staff_flag_change"
FLAGS = ("is_staff", "is_superuser")
OPS = {"post_add": "add", "post_remove": "remove", "post_clear": "clear"}
_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar("role_audit_suppressed", default=False)


@contextmanager
def per_change_audit_suppressed() -> Iterator[None]:
    """For accounts.services.roles_sync only, which audits its own changes as one event per role."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _permission_names(pks: set[int]) -> list[str]:
    rows = Permission.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{code}" for app, code in rows)


def _touched(instance: Any, action: str, pk_set: set | None, relation: str) -> set | None:
    """The pks an m2m change touched, or None when there is nothing to audit (post_clear gets no pk_set:
    pre_clear remembers what is about to go)."""
    if action == "pre_clear":
        instance._audit_cleared = set(getattr(instance, relation).values_list("pk", flat=True))
        return None
    if action not in OPS or _suppressed.get():
        return None
    pks = pk_set if action != "post_clear" else getattr(instance, "_audit_cleared", set())
    return pks or None


def _groups_changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set | None,
                    **kwargs: Any) -> None:
    """user.groups.add/remove/clear/set, or from the other side group.user_set.…: one event per user."""
    pks = _touched(instance, action, pk_set, "user_set" if reverse else "groups")
    if pks is None:
        return
    actor = current_actor()
    if reverse:  # instance is a Group, pks are users
        for user in User.objects.filter(pk__in=pks).order_by("pk"):
            audit_record(actor=actor, action=ROLE_CHANGE, obj=user,
                         after={"field": "groups", "op": OPS[action], "groups": [instance.name]})
    else:
        names = sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
        audit_record(actor=actor, action=ROLE_CHANGE, obj=instance,
                     after={"field": "groups", "op": OPS[action], "groups": names})


def _permissions_changed(field: str, holder: type) -> Any:
    """The receiver for `holder.<field>` (user.user_permissions, group.permissions), or from the other side
    permission.<holder>_set: one event per holder whose permissions changed."""
    reverse_relation = f"{holder._meta.model_name}_set"

    def receiver(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set | None,
                 **kwargs: Any) -> None:
        pks = _touched(instance, action, pk_set, reverse_relation if reverse else field)
        if pks is None:
            return
        actor = current_actor()
        if reverse:  # instance is a Permission, pks are holders
            name = _permission_names({instance.pk})
            for obj in holder.objects.filter(pk__in=pks).order_by("pk"):
                audit_record(actor=actor, action=PERMISSION_CHANGE, obj=obj,
                             after={"field": field, "op": OPS[action], "permissions": name})
        else:
            audit_record(actor=actor, action=PERMISSION_CHANGE, obj=instance,
                         after={"field": field, "op": OPS[action], "permissions": _permission_names(pks)})

    return receiver


# Module-level, so the (weakly referenced) signal receivers live as long as the module.
_user_permissions_changed = _permissions_changed("user_permissions", User)
_group_permissions_changed = _permissions_changed("permissions", Group)


def _flags_before(sender: Any, instance: User, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    """Read the stored flags before a save that may change them (skipped when update_fields leaves them out)."""
    if raw or instance.pk is None or instance._state.adding:
        instance._audit_flags = None
        return
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        instance._audit_flags = None
        return
    instance._audit_flags = User.objects.filter(pk=instance.pk).values(*FLAGS).first()


def _flags_after(sender: Any, instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    after = {flag: bool(getattr(instance, flag)) for flag in FLAGS}
    if created:
        before = dict.fromkeys(FLAGS, False)
    else:
        before = getattr(instance, "_audit_flags", None)
        instance._audit_flags = None
        if before is None:
            return
    if before == after:
        return
    audit_record(actor=current_actor(), action=STAFF_FLAG_CHANGE, obj=instance, before=before, after=after)


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
    m2m_changed.connect(_groups_changed, sender=User.groups.through, dispatch_uid="accounts.audit.groups")
    m2m_changed.connect(_user_permissions_changed, sender=User.user_permissions.through,
                        dispatch_uid="accounts.audit.user_permissions")
    m2m_changed.connect(_group_permissions_changed, sender=Group.permissions.through,
                        dispatch_uid="accounts.audit.group_permissions")
    pre_save.connect(_flags_before, sender=User, dispatch_uid="accounts.audit.flags_before")
    post_save.connect(_flags_after, sender=User, dispatch_uid="accounts.audit.flags_after")
    post_save.connect(_password_saved, sender=User, dispatch_uid="accounts.tokens.password_saved")
    post_delete.connect(_authenticator_deleted, sender=TOTPDevice, dispatch_uid="accounts.tokens.authenticator_deleted")
