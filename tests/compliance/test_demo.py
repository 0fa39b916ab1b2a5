"""The demo gives HK customers a risk profile and leaves every assessment and first view to the journey."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from compliance.models import AssessmentAttempt, CustomerProfile, JurisdictionRule


@pytest.mark.django_db
def test_seed_demo_profiles_rules_and_an_open_journey():
    call_command("seed_demo", stdout=io.StringIO())
    profiles = dict(CustomerProfile.objects.exclude(risk_profile="").values_list("user__email", "risk_profile"))
    assert profiles == {"alice@hk.example": "moderate", "david@hk.example": "high"}
    assert set(JurisdictionRule.objects.values_list("country", flat=True)) >= {"HK", "GB"}
    assert not AssessmentAttempt.objects.exists()
    assert not CustomerProfile.objects.filter(earn_first_viewed_at__isnull=False).exists()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "risk profile of alice@hk.example: exists" in out.getvalue()
