"""Every change of roles and privileges is audited, however it is written (issue 14, item 6)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User
from accounts.services import roles_sync
from core.models import AuditEvent
from tests.factories import UserFactory, admin_login

pytestmark = pytest.mark.django_db


def _events(action: str, obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk))
                .order_by("sequence"))


def test_orm_group_membership_changes_are_audited_both_ways():
    user = UserFactory(email="u@hk.example")
    ops, curator = Group.objects.get_or_create(name="operations")[0], Group.objects.get_or_create(name="curator")[0]
    user.groups.add(ops)
    user.groups.remove(ops)
    curator.user_set.add(user)
    user.groups.clear()
    user.groups.set([ops])
    changes = [(e.actor_id, e.after["op"], e.after["groups"]) for e in _events("accounts.role_change", user)]
    assert changes == [(None, "add", ["operations"]), (None, "remove", ["operations"]), (None, "add", ["curator"]),
                       (None, "clear", ["curator"]), (None, "add", ["operations"])]


def test_a_clear_of_nothing_writes_nothing():
    user = UserFactory(email="u@hk.example")
    user.groups.clear()
    assert not _events("accounts.role_change", user)


def test_group_and_user_permission_changes_are_audited():
    group = Group.objects.create(name="auditors")
    perm = Permission.objects.get(content_type__app_label="ledger", codename="post_deposit")
    group.permissions.add(perm)
    perm.group_set.remove(group)
    user = UserFactory(email="u@hk.example")
    user.user_permissions.add(perm)
    user.user_permissions.clear()
    assert [(e.after["op"], e.after["permissions"]) for e in _events("accounts.permission_change", group)] == [
        ("add", ["ledger.post_deposit"]), ("remove", ["ledger.post_deposit"])]
    assert [(e.after["op"], e.after["permissions"]) for e in _events("accounts.permission_change", user)] == [
        ("add", ["ledger.post_deposit"]), ("clear", ["ledger.post_deposit"])]


def test_staff_and_superuser_flags_are_audited_on_create_and_on_every_flip():
    customer = UserFactory(email="u@hk.example")
    assert not _events("accounts.staff_flag_change", customer)  # a customer's sign-up is no privilege change
    customer.is_staff = True
    customer.save()
    User.objects.filter(pk=customer.pk).first().save(update_fields=["display_name"])  # not a flag: no event
    customer.is_superuser = True
    customer.save(update_fields=["is_superuser"])
    root = User.objects.create_superuser("root@earn.example", "pass-word-123", country="HK")
    assert [(e.before, e.after) for e in _events("accounts.staff_flag_change", customer)] == [
        ({"is_staff": False, "is_superuser": False}, {"is_staff": True, "is_superuser": False}),
        ({"is_staff": True, "is_superuser": False}, {"is_staff": True, "is_superuser": True})]
    assert [e.after for e in _events("accounts.staff_flag_change", root)] == [{"is_staff": True, "is_superuser": True}]


def test_admin_changes_name_the_admin_as_actor():
    root = User.objects.create_superuser("root@earn.example", "pass-word-123", country="HK")
    client = admin_login(Client(), root)
    group = Group.objects.create(name="reviewers")
    perm = Permission.objects.get(content_type__app_label="ledger", codename="view_asset")
    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "reviewers", "permissions": [perm.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = _events("accounts.permission_change", group)
    assert (event.actor_id, event.after) == (root.pk, {"field": "permissions", "op": "add",
                                                       "permissions": ["ledger.view_asset"]})


def test_roles_sync_audits_a_changed_role_once_and_nothing_when_unchanged():
    roles_sync()
    operations = Group.objects.get(name="operations")
    operations.permissions.remove(Permission.objects.get(content_type__app_label="ledger", codename="post_deposit"))
    before = AuditEvent.objects.count()
    roles_sync()
    [event] = AuditEvent.objects.filter(sequence__gt=0).order_by("-sequence")[:1]
    assert AuditEvent.objects.count() == before + 1
    assert (event.actor_id, event.after["op"], event.after["added"]) == (None, "sync", ["ledger.post_deposit"])
    roles_sync()
    assert AuditEvent.objects.count() == before + 1
