"""API views (placeholder until implemented)."""

urlpatterns: list = []
