"""The console's background tasks (Django's tasks framework; the django-tasks-db backend
queues them in the database and `manage.py db_worker` runs them)."""

from __future__ import annotations

from django.tasks import task

from . import jobs


@task(queue_name="exports")
def run_export(export_id: str) -> str:
    """Make one export's file: see exports.jobs.run."""
    return jobs.run(export_id)
