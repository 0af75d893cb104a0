"""`--smoke`: a benchmark at a tiny size on a throw-away database, to prove it still runs.

bills/tests/test_bench_smoke.py runs every benchmark this way, so a refactor that breaks
one fails CI. A smoke run's figures measure nothing; the full runs are in the README.

That test prepares once what every run would otherwise make again, and names it in the
environment: the tiny databases (`python bench/smoke.py --prepare DIR`), which each run
copies, and the production `collectstatic` output, which each run serves as it is.
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
# A directory holding MIGRATED and SEEDED, made by --prepare.
PREPARED_DATABASES = "BENCH_SMOKE_DATABASES"
MIGRATED, SEEDED = "migrated.sqlite3", "seeded.sqlite3"
# A STATIC_ROOT already holding `collectstatic` with DEBUG off (hashed, compressed files).
COLLECTED_STATIC = "BENCH_SMOKE_STATIC_ROOT"


def requested() -> bool:
    """Whether this run is a smoke run (read before Django is set up)."""
    return FLAG in sys.argv


def tiny_database(name: str, *, seed: bool = True) -> str:
    """A new SQLite file in a temporary directory, migrated and (with `seed`) loaded with
    seed_large at a tiny size; DATABASE_URL now names it, for this process and its children."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-smoke-{name}-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    database = work / "bench.sqlite3"
    prepared = os.environ.get(PREPARED_DATABASES)
    if prepared:
        shutil.copyfile(Path(prepared) / (SEEDED if seed else MIGRATED), database)
    else:
        make_database(database, seed=seed)
    url = f"sqlite:///{database}"
    os.environ["DATABASE_URL"] = url
    return url


def make_database(database: Path, *, seed: bool) -> None:
    manage(database, "migrate", "--noinput", "--verbosity=0")
    if seed:
        manage(database, "seed_large", *TINY_SEED)


def collected_static() -> Path | None:
    """The shared `collectstatic` output of a smoke run, if the test suite made it."""
    shared = os.environ.get(COLLECTED_STATIC) if requested() else None
    return Path(shared) if shared else None


def production_settings(name: str) -> None:
    """The settings of a benchmark that measures the console as production serves it
    (DEBUG off, quiet logs, the test client's host), unless the environment says otherwise;
    and its STATIC_ROOT (`static_root`)."""
    defaults = {
        "DJANGO_SETTINGS_MODULE": "billing_console.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    static_root(name)


def static_root(name: str) -> None:
    """STATIC_ROOT for a run with DEBUG off: the shared smoke files, else the environment's,
    else a new temporary directory (for collectstatic, unless `collected_static()`)."""
    shared = collected_static()
    if shared:
        os.environ["STATIC_ROOT"] = str(shared)
    else:
        os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix=f"bench-{name}-static-"))


def manage(database: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        env=os.environ
        | {
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_SETTINGS_MODULE": "billing_console.settings",
        },
    )


if __name__ == "__main__":
    # --prepare DIR: the databases every smoke run copies (seeded: a copy of the migrated
    # one, loaded), so that each run need not migrate.
    if sys.argv[1:2] != ["--prepare"] or len(sys.argv) != 3:
        sys.exit("usage: python bench/smoke.py --prepare DIR")
    directory = Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    make_database(directory / MIGRATED, seed=False)
    shutil.copyfile(directory / MIGRATED, directory / SEEDED)
    manage(directory / SEEDED, "seed_large", *TINY_SEED)
