from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Prometheus metrics over every app (the top layer: it reads them all, none imports it)."""

    name = "monitoring"
