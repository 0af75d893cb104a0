"""`--smoke`: a benchmark at a tiny size on a throw-away database, to prove it still runs.

bills/tests/test_bench_smoke.py runs every benchmark this way, so a refactor that breaks
one fails CI. A smoke run's figures measure nothing; the full runs are in the README.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAG = "--smoke"
# seed_large at a tiny size: the `bench` user's organization holds most of the bills.
TINY_SEED = ("--bills=300", "--organizations=3", "--big-organization-bills=200", "--cycles=12")


def requested() -> bool:
    """Whether this run is a smoke run (read before Django is set up)."""
    return FLAG in sys.argv


def tiny_database(name: str, *, seed: bool = True) -> str:
    """A new SQLite file in a temporary directory, migrated and (with `seed`) loaded with
    seed_large at a tiny size; DATABASE_URL now names it, for this process and its children."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-smoke-{name}-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    url = f"sqlite:///{work}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    manage("migrate", "--noinput", "--verbosity=0")
    if seed:
        manage("seed_large", *TINY_SEED)
    return url


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "billing_console.settings"},
    )
