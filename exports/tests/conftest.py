from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage

from bills.tests.conftest import *  # noqa: F403  (the console's fixtures: users, bills, ...)
from exports.models import Export


@pytest.fixture(autouse=True)
def export_storage(tmp_path, monkeypatch) -> FileSystemStorage:
    """Each test's export files in a directory of its own, never the developer's."""
    storage = FileSystemStorage(location=tmp_path / "exports", base_url=None)
    monkeypatch.setattr(Export._meta.get_field("file"), "storage", storage)
    return storage
