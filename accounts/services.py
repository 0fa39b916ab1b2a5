"""Writes for users and roles."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.roles import ROLE_PERMISSIONS


@transaction.atomic
def roles_sync(*, verbosity: int = 0) -> dict[str, int]:
    """Create every role group and grant exactly its permissions; safe to run repeatedly."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=verbosity)
    counts = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        objs = [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in perms]
        group.permissions.set(objs)
        counts[role] = len(objs)
    return counts
