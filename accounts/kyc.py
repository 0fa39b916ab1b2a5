"""KYC facts: verified residence, KYC status and investor class, and who may change them.

Customers never write these. They *request* a change of residence (or investor class) with a reason; a
compliance officer approves or rejects it in the admin console, never the requester. A compliance officer
verifies or rejects a new customer's KYC, or the KYC provider does through its signed webhook. Every step is
an audit event written in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    InvestorClass,
    KycStatus,
    KycWebhookEvent,
    ResidenceChangeRequest,
    ResidenceRequestStatus,
    User,
)
from accounts.roles import COMPLIANCE_OFFICER, user_has_role
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, MakerCheckerViolation, NotFound, PermissionDenied, ValidationFailed

ISO2 = re.compile(r"^[A-Z]{2}$")

# The investor class is kept with the customer's compliance profile; compliance registers how to read and write
# it from its AppConfig.ready (accounts sits below compliance and never imports it).
_INVESTOR_CLASS: dict[str, Callable[..., Any]] = {}


def register_investor_class(*, read: Callable[[Any], str], write: Callable[..., Any]) -> None:
    """`read(user)` -> "retail" | "professional"; `write(actor=, user=, professional=, via=)`."""
    _INVESTOR_CLASS.update(read=read, write=write)


def investor_class_of(user: Any) -> str:
    return _INVESTOR_CLASS["read"](user)


def investor_class_set(*, actor: Any, user: Any, professional: bool, via: str = "staff") -> Any:
    return _INVESTOR_CLASS["write"](actor=actor, user=user, professional=professional, via=via)
PROVIDER = "kyc_provider"  # how the provider appears in audit events (`via`); the event's actor is empty
SIGNATURE_HEADER = "X-KYC-Signature"


class ResidenceRequestPending(Conflict):
    default_code = "RESIDENCE_REQUEST_PENDING"


class WebhookDisabled(ApplicationError):
    default_code = "WEBHOOK_DISABLED"
    status = 404  # as if the endpoint did not exist (a 5xx would page operators for a deliberate setting)


class WebhookSignatureInvalid(ApplicationError):
    default_code = "SIGNATURE_INVALID"
    status = 401


class WebhookReplayed(Conflict):
    default_code = "EVENT_REPLAYED"


def _kyc_snapshot(user: User) -> dict[str, Any]:
    return {"country": user.country, "declared_country": user.declared_country, "kyc_status": user.kyc_status,
            "kyc_verified_at": user.kyc_verified_at, "kyc_verified_by": user.kyc_verified_by_id,
            "kyc_source": user.kyc_source}


def _compliance_only(actor: Any, user_id: int) -> None:
    if not user_has_role(actor, COMPLIANCE_OFFICER):
        raise PermissionDenied(_("This action needs the compliance officer role."))
    if actor.pk == user_id:
        raise MakerCheckerViolation(_("Nobody decides on their own KYC or their own request."))


def _country(value: str, *, field: str) -> str:
    country = (value or "").strip().upper()
    if not ISO2.match(country):
        raise ValidationFailed(_("Enter a country as its ISO 3166 two-letter code."), field=field)
    return country


def _locked_user(user_id: int) -> User:
    return User.objects.select_for_update().get(pk=user_id)


# --- compliance officers ---------------------------------------------------------------------------------------


@transaction.atomic
def kyc_verify(*, actor: Any, user_id: int, country: str | None = None) -> User:
    """Verify a customer's identity and residence: `country` (default: what they declared) becomes the residence."""
    _compliance_only(actor, user_id)
    user = _locked_user(user_id)
    before = _kyc_snapshot(user)
    user.country = _country(country or user.declared_country or user.country, field="country")
    user.kyc_status, user.kyc_verified_at, user.kyc_verified_by, user.kyc_source = (
        KycStatus.VERIFIED, timezone.now(), actor, "staff")
    user.save(update_fields=["country", "kyc_status", "kyc_verified_at", "kyc_verified_by", "kyc_source"])
    audit_record(actor=actor, action="kyc.verify", obj=user, before=before, after=_kyc_snapshot(user))
    return user


@transaction.atomic
def kyc_reject(*, actor: Any, user_id: int, reason: str) -> User:
    """KYC failed: the customer keeps what they hold (and may redeem) but may not subscribe (KYC_REQUIRED)."""
    _compliance_only(actor, user_id)
    if not reason.strip():
        raise ValidationFailed(_("Give a reason."), field="reason")
    user = _locked_user(user_id)
    before = _kyc_snapshot(user)
    user.kyc_status, user.kyc_verified_at, user.kyc_verified_by, user.kyc_source = (
        KycStatus.REJECTED, timezone.now(), actor, "staff")
    user.save(update_fields=["kyc_status", "kyc_verified_at", "kyc_verified_by", "kyc_source"])
    audit_record(actor=actor, action="kyc.reject", obj=user, before=before,
                 after={**_kyc_snapshot(user), "reason": reason.strip()})
    return user


def _decide(actor: Any, request_id: int) -> tuple[ResidenceChangeRequest, User]:
    request = ResidenceChangeRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("No such request."))
    _compliance_only(actor, request.user_id)
    if request.status != ResidenceRequestStatus.PENDING:
        raise Conflict(_("This request was already decided."), code="REQUEST_DECIDED")
    return request, _locked_user(request.user_id)


@transaction.atomic
def residence_request_approve(*, actor: Any, request_id: int, note: str = "") -> ResidenceChangeRequest:
    """Apply the requested residence and/or investor class; the gate reads the new values at once."""
    request, user = _decide(actor, request_id)
    before = {**_kyc_snapshot(user), "investor_class": investor_class_of(user)}
    if request.requested_country:
        user.country = request.requested_country
        user.save(update_fields=["country"])
    if request.requested_investor_class:
        investor_class_set(actor=actor, user=user,
                           professional=request.requested_investor_class == InvestorClass.PROFESSIONAL,
                           via="residence_request")
    request.status, request.decided_by, request.decided_at, request.decision_note = (
        ResidenceRequestStatus.APPROVED, actor, timezone.now(), note.strip())
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(actor=actor, action="residence_request.approve", obj=request, before=before,
                 after={**_kyc_snapshot(user), "investor_class": investor_class_of(user), "request": request.pk,
                        "note": request.decision_note})
    return request


@transaction.atomic
def residence_request_reject(*, actor: Any, request_id: int, note: str) -> ResidenceChangeRequest:
    if not note.strip():
        raise ValidationFailed(_("Give a reason."), field="note")
    request, _user = _decide(actor, request_id)
    request.status, request.decided_by, request.decided_at, request.decision_note = (
        ResidenceRequestStatus.REJECTED, actor, timezone.now(), note.strip())
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(actor=actor, action="residence_request.reject", obj=request,
                 before={"status": ResidenceRequestStatus.PENDING},
                 after={"status": request.status, "note": request.decision_note})
    return request


# --- customers ---------------------------------------------------------------------------------------------------


def residence_request_create(*, user: User, requested_country: str = "", requested_investor_class: str = "",
                             reason: str) -> ResidenceChangeRequest:
    """A customer asks compliance to change their residence and/or investor class; nothing changes until decided.

    At most one pending request per customer (RESIDENCE_REQUEST_PENDING, also enforced by PostgreSQL); while it
    is pending the gate refuses new subscriptions with RESIDENCE_UNDER_REVIEW.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Tell us why your residence or classification changed."), field="reason")
    if len(reason) > 2000:
        raise ValidationFailed(_("Keep the reason under 2000 characters."), field="reason")
    country = _country(requested_country, field="requested_country") if requested_country else ""
    if requested_investor_class and requested_investor_class not in InvestorClass.values:
        raise ValidationFailed(_("Investor class is retail or professional."), field="requested_investor_class")
    current_class = investor_class_of(user)
    if country == user.country:
        country = ""
    if requested_investor_class == current_class:
        requested_investor_class = ""
    if not country and not requested_investor_class:
        raise ValidationFailed(_("That is already what we have on file."), field="requested_country")
    try:
        with transaction.atomic():
            request = ResidenceChangeRequest.objects.create(
                user=user, current_country=user.country, requested_country=country,
                current_investor_class=current_class, requested_investor_class=requested_investor_class,
                reason=reason)
            audit_record(actor=user, action="residence_request.create", obj=request,
                         after={"user": user.pk, "current_country": user.country, "requested_country": country,
                                "current_investor_class": current_class,
                                "requested_investor_class": requested_investor_class, "reason": reason})
    except IntegrityError as exc:
        if "residencerequest_one_pending_per_user" not in str(exc):
            raise
        raise ResidenceRequestPending(_("You already have a request under review.")) from exc
    return request


def residence_requests_of(user: User) -> list[ResidenceChangeRequest]:
    return list(ResidenceChangeRequest.objects.filter(user=user).order_by("-created_at", "-id"))


def residence_request_pending(user: User) -> ResidenceChangeRequest | None:
    return ResidenceChangeRequest.objects.filter(user=user, status=ResidenceRequestStatus.PENDING).first()


# --- the KYC provider's webhook ----------------------------------------------------------------------------------


def webhook_signature(body: bytes, secret: str) -> str:
    """The header value a provider sends: "sha256=" + hex HMAC-SHA256 of the raw body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_authenticate(*, body: bytes, signature: str | None) -> None:
    """Refuse unless a secret is configured (404 WEBHOOK_DISABLED) and the signature matches it (401).

    The signature is compared in constant time.
    """
    secret = settings.KYC_WEBHOOK_SECRET
    if not secret:
        raise WebhookDisabled(_("The KYC webhook is not configured."))
    expected = webhook_signature(body, secret)
    given = (signature or "").strip()
    if not given.startswith("sha256="):
        given = "sha256=" + given
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise WebhookSignatureInvalid(_("The signature does not match."))


def webhook_payload(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(_("The body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(_("The body must be a JSON object."))
    return data


@transaction.atomic
def kyc_webhook_apply(*, event_id: str, timestamp: int, user_id: int | None, email: str | None, status: str,
                      country: str | None, investor_class: str | None, received: dict[str, Any]) -> KycWebhookEvent:
    """Apply one authenticated provider event in one transaction; a seen event id is refused (409).

    `timestamp` (Unix seconds, inside the signed body) must be within KYC_WEBHOOK_TOLERANCE seconds of now, so a
    captured request cannot be replayed once its id has aged out of anyone's memory (the ids are kept anyway).
    """
    now = timezone.now()
    tolerance = dt.timedelta(seconds=settings.KYC_WEBHOOK_TOLERANCE)
    try:
        sent = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookSignatureInvalid(_("The event's timestamp is outside the accepted window."),
                                      field="timestamp") from exc
    if abs(now - sent) > tolerance:
        raise WebhookSignatureInvalid(_("The event's timestamp is outside the accepted window."), field="timestamp")
    users = User.objects.filter(pk=user_id) if user_id is not None else User.objects.filter(email=(email or "").lower())
    target = users.first()
    if target is None:
        raise NotFound(_("No such user."), field="user_id" if user_id is not None else "email")
    if status == KycStatus.VERIFIED and not country:
        raise ValidationFailed(_("A verified event carries the verified country."), field="country")
    try:
        with transaction.atomic():
            event = KycWebhookEvent.objects.create(event_id=event_id, user=target, status=status, payload=received,
                                                   received_at=now)
    except IntegrityError as exc:
        raise WebhookReplayed(_("This event was already processed."), field="event_id") from exc
    user = _locked_user(target.pk)
    before = {**_kyc_snapshot(user), "investor_class": investor_class_of(user)}
    if status == KycStatus.VERIFIED:
        user.country = _country(country or "", field="country")
    user.kyc_status, user.kyc_verified_at, user.kyc_verified_by, user.kyc_source = status, now, None, "provider"
    user.save(update_fields=["country", "kyc_status", "kyc_verified_at", "kyc_verified_by", "kyc_source"])
    if investor_class:
        investor_class_set(actor=None, user=user, professional=investor_class == InvestorClass.PROFESSIONAL,
                           via=PROVIDER)
    audit_record(actor=None, action="kyc.provider_event", obj=user, before=before,
                 after={**_kyc_snapshot(user), "investor_class": investor_class_of(user), "via": PROVIDER,
                        "event_id": event_id, "event": event.pk})
    return event
