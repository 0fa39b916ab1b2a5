"""Account and authentication refusals."""

from __future__ import annotations

from core.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    default_code = "INVALID_CREDENTIALS"
