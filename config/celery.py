"""The Celery application; tasks are discovered in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("earn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _log_context() -> None:
    """Carry the request id of core.logging from the request that queues a task into the worker's lines."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    from core.logging import celery_context_enter, celery_context_leave, celery_headers_add

    before_task_publish.connect(celery_headers_add, weak=False, dispatch_uid="log_context_publish")
    task_prerun.connect(celery_context_enter, weak=False, dispatch_uid="log_context_enter")
    task_postrun.connect(celery_context_leave, weak=False, dispatch_uid="log_context_leave")


_log_context()
