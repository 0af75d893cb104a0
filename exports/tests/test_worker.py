"""The export journeys through a real `manage.py db_worker` process, on the test database:
click, queue, worker, file, download; and a worker killed in the middle of one."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from exports.models import Export

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database, for a process of its own: the suite's DATABASE_URL with the test
    database's name."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()


def worker(storage, *, batch: bool = True) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "EXPORTS_DIR": str(storage.location),
        "DEBUG": "1",
    }
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--queue-name",
        "default,exports",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.2",
    ]
    return subprocess.Popen(
        [*command, "--batch"] if batch else command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_worker(storage) -> str:
    process = worker(storage)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def bills(make_bill, application):
    return [make_bill(application, cycle=f"2026-{month:02d}") for month in range(5, 11)]


@pytest.mark.parametrize("kind", ["xlsx", "csv", "zip"])
def test_each_kind_of_export_runs_through_a_real_worker(
    member_client, bills, settings, export_storage, kind
):
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 1, "csv": 1}
    member_client.post(f"/bills/export.{kind}?cycle_from=2026-07")
    export = Export.objects.get()
    assert export.status == Export.Status.QUEUED

    run_worker(export_storage)

    export.refresh_from_db()
    assert export.status == Export.Status.READY, export.error
    assert DBTaskResult.objects.get(id=export.task_id).status == "SUCCESSFUL"
    data = body(member_client.get(f"/exports/{export.pk}/download/"))
    expected = [bill.number for bill in reversed(bills[2:])]
    if kind == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        numbers = [row[0] for row in sheet.iter_rows(min_row=2, max_row=5, values_only=True)]
    elif kind == "csv":
        numbers = [row[0] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][1:]
    else:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        numbers = [name.removesuffix(".pdf") for name in names if name.endswith(".pdf")]
    assert numbers == expected


def test_a_worker_killed_mid_export_fails_it_and_the_next_worker_carries_on(
    member_client, make_bill, application, settings, export_storage
):
    # 40 bills whose PDFs are not cached yet: the ZIP takes some seconds to make.
    for month in range(40):
        make_bill(application, cycle=f"{2020 + month // 12}-{month % 12 + 1:02d}")
    member_client.post("/bills/export.zip")
    export = Export.objects.get()
    process = worker(export_storage, batch=False)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            export.refresh_from_db()
            if export.status == Export.Status.RUNNING and export.done >= 1:
                break
            time.sleep(0.2)
        assert export.status == Export.Status.RUNNING and export.done < export.total
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    settings.EXPORT_STALLED_SECONDS = 1
    time.sleep(1.5)
    page = member_client.get("/exports/").content.decode()

    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "the worker making it ended unexpectedly" in page
    assert not export.file
    assert not export_storage.exists(f"{export.organization_id}/{export.pk}.zip")
    assert member_client.get(f"/exports/{export.pk}/download/").status_code == 302

    # A new worker takes the next export in the queue.
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 1, "csv": 1}
    member_client.post("/bills/export.csv")
    run_worker(export_storage)
    assert Export.objects.get(file_format="csv").status == Export.Status.READY
