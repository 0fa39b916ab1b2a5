"""Portal forms: they check shapes only; the services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from accounts.models import InvestorClass, User

COUNTRIES = [
    ("HK", _("Hong Kong")), ("GB", _("United Kingdom")), ("SG", _("Singapore")), ("TW", _("Taiwan")),
    ("DE", _("Germany")), ("FR", _("France")), ("JP", _("Japan")), ("AU", _("Australia")), ("CA", _("Canada")),
    ("US", _("United States")),
]


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class OtpForm(forms.Form):
    otp = forms.CharField(label=_("One-time code"), max_length=16,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class ApiTokenForm(forms.Form):
    """A new API token: a label, and the one-time code when two-factor authentication is on."""

    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What the token is for, so you can recognise it later."))
    otp = forms.CharField(label=_("One-time code"), max_length=16, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    display_name = forms.CharField(label=_("Your name"), max_length=120)
    country = forms.ChoiceField(label=_("Country of residence"), choices=COUNTRIES)
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(_("An account with this email already exists. Sign in instead."))
        return email

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        elif data.get("password"):
            try:
                password_validation.validate_password(data["password"])
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class ProfileForm(forms.Form):
    """Name and language only: the country of residence is a KYC fact (see ResidenceRequestForm)."""

    display_name = forms.CharField(label=_("Your name"), max_length=120)
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)


class ResidenceRequestForm(forms.Form):
    requested_country = forms.ChoiceField(label=_("New country of residence"), required=False,
                                          choices=[("", _("No change")), *COUNTRIES])
    requested_investor_class = forms.ChoiceField(label=_("Investor classification"), required=False,
                                                 choices=[("", _("No change")), *InvestorClass.choices])
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("For example the date you moved. Compliance may ask for documents."))


class AmountForm(forms.Form):
    amount = forms.CharField(label=_("Amount"), max_length=64,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    auto_renew = forms.BooleanField(label=_("Renew automatically at maturity"), required=False)


class CommitForm(forms.Form):
    """A launch commitment: the amount, and the one-time code when two-factor authentication is on."""

    amount = forms.CharField(label=_("Amount to commit"), max_length=64,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    otp = forms.CharField(label=_("One-time code"), max_length=16, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    idempotency_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class RedeemForm(forms.Form):
    amount = forms.CharField(label=_("Amount"), max_length=64, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    mode = forms.ChoiceField(label=_("Speed"), choices=[("fast", _("Fast: paid now")),
                                                        ("standard", _("Standard: settles the next day"))])


class HistoryForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    asset = forms.CharField(label=_("Asset"), required=False, max_length=16)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The range ends before it starts."))
        return data
