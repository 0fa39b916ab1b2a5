"""Request types for views only signed-in users reach, for the type checker.

The API's default permission is IsAuthenticated, portal pages are behind `login_required` and the admin
is staff only: there `request.user` is a `User`, never the AnonymousUser the framework types allow.
The classes are annotations only (nothing constructs them); `request_user` is for the places that must
keep the framework's signature (admin method overrides, generic views' `self.request`). Nothing here
checks anything at run time: the permission check already did.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(Request):
    """An API request past IsAuthenticated."""

    user: User


class AuthenticatedHttpRequest(HttpRequest):
    """A portal request past `login_required`."""

    user: User


def request_user(request: HttpRequest) -> User:
    """The signed-in user of a request that only signed-in users reach (see the module docstring)."""
    return cast(User, request.user)
