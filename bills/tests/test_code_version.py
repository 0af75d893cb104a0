"""The code's version in the cache keys follows every file it names, and only those."""

from __future__ import annotations

import pytest

from bills.code_version import code_version


@pytest.fixture
def code(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "pdf.py").write_text("LAYOUT = 1\n")
    (tmp_path / "bills" / "money.py").write_text("PLACES = 2\n")
    code_version.cache_clear()
    yield tmp_path / "bills"
    code_version.cache_clear()


def test_it_changes_with_any_file_it_names(code):
    before = code_version("bills/*.py")

    (code / "money.py").write_text("PLACES = 3\n")
    code_version.cache_clear()  # a restart

    assert code_version("bills/*.py") != before


def test_it_ignores_files_it_does_not_name(code):
    before = code_version("bills/pdf.py")

    (code / "money.py").write_text("PLACES = 3\n")
    code_version.cache_clear()

    assert code_version("bills/pdf.py") == before


def test_a_pattern_that_matches_nothing_is_an_error(code):
    with pytest.raises(FileNotFoundError, match="nothing matches 'bills/pfd.py'"):
        code_version("bills/pfd.py")
