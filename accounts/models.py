"""Customers and staff: one user model with email login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


ISO2 = RegexValidator(r"^[A-Z]{2}$", _("ISO 3166 alpha-2 code"))


class KycStatus(models.TextChoices):
    """Whether a customer's identity and residence were checked (by a compliance officer or the KYC provider)."""

    UNVERIFIED = "unverified", _("Unverified")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class InvestorClass(models.TextChoices):
    RETAIL = "retail", _("Retail")
    PROFESSIONAL = "professional", _("Professional")


class User(AbstractBaseUser, PermissionsMixin):
    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH_HANT = "zh-hant", _("Traditional Chinese")

    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    country = models.CharField(
        _("country"), max_length=2, validators=[ISO2],
        help_text=_("Verified country of residence, ISO 3166-1 alpha-2, upper case (written by compliance only)"),
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.EN)
    # KYC facts. `country` above is the *verified* residence the compliance gate reads; only compliance (admin)
    # and the KYC provider's webhook write it (accounts.kyc). What the customer said at sign-up is kept apart.
    # db_default too: rows inserted in SQL (bulk loaders) get the same values as through the ORM.
    declared_country = models.CharField(_("declared country"), max_length=2, blank=True, default="", db_default="",
                                        validators=[ISO2],
                                        help_text=_("Country of residence the customer declared at sign-up"))
    kyc_status = models.CharField(_("KYC status"), max_length=10, choices=KycStatus.choices,
                                  default=KycStatus.UNVERIFIED, db_default=KycStatus.UNVERIFIED)
    kyc_verified_at = models.DateTimeField(_("KYC decided at"), null=True, blank=True)
    kyc_verified_by = models.ForeignKey("self", verbose_name=_("KYC decided by"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+",
                                        help_text=_("Compliance officer; empty when the KYC provider decided"))
    kyc_source = models.CharField(_("KYC source"), max_length=40, blank=True, default="", db_default="",
                                  help_text=_("staff, provider, or onboarding (customers before KYC records)"))
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    _audit_flags: dict[str, Any] | None  # the staff flags as stored before a save (accounts.signals, audit)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["country"]

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="user_country_iso2"),
            models.CheckConstraint(condition=models.Q(declared_country="")
                                   | models.Q(declared_country__regex=r"^[A-Z]{2}$"),
                                   name="user_declared_country_iso2"),
            models.CheckConstraint(condition=models.Q(kyc_status__in=KycStatus.values), name="user_kyc_status_valid"),
            models.CheckConstraint(condition=models.Q(kyc_status=KycStatus.UNVERIFIED)
                                   | models.Q(kyc_verified_at__isnull=False), name="user_kyc_decided_has_time"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    @property
    def kyc_verified(self) -> bool:
        return self.kyc_status == KycStatus.VERIFIED


class ResidenceRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ResidenceChangeRequest(models.Model):
    """A customer's request to change their verified residence (and/or investor class), decided by compliance.

    While one is pending the gate refuses new subscriptions (RESIDENCE_UNDER_REVIEW); at most one is pending
    per customer, and the customer never decides their own.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="residence_requests")
    current_country = models.CharField(_("current country"), max_length=2)
    requested_country = models.CharField(_("requested country"), max_length=2, blank=True, validators=[ISO2],
                                         help_text=_("Empty: the residence stays as it is"))
    current_investor_class = models.CharField(_("current investor class"), max_length=12,
                                              choices=InvestorClass.choices)
    requested_investor_class = models.CharField(_("requested investor class"), max_length=12, blank=True,
                                                choices=InvestorClass.choices,
                                                help_text=_("Empty: the investor class stays as it is"))
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=ResidenceRequestStatus.choices,
                              default=ResidenceRequestStatus.PENDING)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, max_length=2000)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("residence change request")
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=models.Q(status="pending"),
                                    name="residencerequest_one_pending_per_user"),
            models.CheckConstraint(condition=models.Q(requested_country="")
                                   | models.Q(requested_country__regex=r"^[A-Z]{2}$"),
                                   name="residencerequest_country_iso2"),
            models.CheckConstraint(condition=~models.Q(requested_country="", requested_investor_class=""),
                                   name="residencerequest_asks_something"),
            models.CheckConstraint(condition=models.Q(status__in=ResidenceRequestStatus.values),
                                   name="residencerequest_status_valid"),
            models.CheckConstraint(condition=models.Q(status="pending", decided_at__isnull=True)
                                   | (~models.Q(status="pending") & models.Q(decided_at__isnull=False)),
                                   name="residencerequest_decided_iff_not_pending"),
            models.CheckConstraint(condition=~models.Q(decided_by=models.F("user")),
                                   name="residencerequest_requester_not_decider"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="residencerequest_status_idx")]

    def __str__(self) -> str:
        return f"residence request {self.pk} ({self.user_id}: {self.current_country} → {self.requested_country or '-'})"


class KycWebhookEvent(models.Model):
    """Every KYC provider event applied, by the provider's event id: a replayed id is refused (409)."""

    event_id = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=KycStatus.choices)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("KYC provider event")

    def __str__(self) -> str:
        return f"KYC event {self.event_id}"


class KycCustomer(User):
    """The admin console's KYC view of customers (a proxy: same table, own permissions)."""

    class Meta:
        proxy = True
        verbose_name = _("customer KYC")
        verbose_name_plural = _("customer KYC")

class ApiToken(models.Model):
    """A customer's API token for `Authorization: Token <key>`: only a SHA-256 digest of the key is stored.

    The key (256 random bits) is shown once at creation; `prefix` (its first characters, not secret on
    its own) lets the customer recognise it in lists. Tokens expire, and all of a user's tokens end when
    the password changes or two-factor authentication is turned on or off (accounts.tokens).
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "expires_at"], name="apitoken_user_expiry")]
        constraints = [
            models.CheckConstraint(condition=models.Q(digest__regex=r"^[0-9a-f]{64}$"), name="apitoken_digest_sha256"),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                   name="apitoken_expires_after_created"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})" if self.name else f"{self.prefix}…"
