"""Every benchmark under bench/ still runs: each at its tiny `--smoke` size, as a subprocess.

A refactor that breaks a benchmark (a renamed function, a changed signature) fails here,
not months later when someone needs the figures. The figures of a smoke run mean nothing.
Select these tests with `-m bench`, or leave them out with `-m "not bench"`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def needs_wrk() -> str | None:
    return None if shutil.which("wrk") else "wrk is not installed (scripts/bench installs it)"


def needs_wrk_and_a_private_postgres() -> str | None:
    if os.geteuid() != 0:
        return "runs PostgreSQL as the postgres user, which needs root"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 is not installed ({PG_BIN})"
    return needs_wrk()


# Script -> (extra arguments, a line of figures it prints, what it needs beyond the venv).
BENCHMARKS = {
    "bench_export.py": ([], r"view-xlsx +\d+ +[\d.]+ .*\n(.*\n)*view-csv +\d+ +[\d.]+", None),
    "bench_bill_list.py": (["--explain"], r"first page +\d+ +\d+ +\d+ +[\d.]+ +[\d.]+", None),
    "bench_api.py": (
        [],
        r"first page +api +\d+ +\d+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+x",
        None,
    ),
    "bench_overview.py": (
        [],
        r"last 12 closed cycles \(the default\) +overview +\d+ +\d+ +[\d.]+ +[\d.]+ +[\d.]+ "
        r"+[\d.]+ +[\d.]+x",
        None,
    ),
    "bench_orders.py": ([], r"[\d.]+ ms +\d+ queries +/orders/\n", None),
    "bench_pdf.py": ([], r"cached download\) +[\d.]+ ms wall +[\d.]+ ms CPU", None),
    "bench_load.py": ([], r"bills first page +[\d.]+ +[\d.]+ +[\d.]+", needs_wrk),
    "bench_jobs.py": (
        [],
        r"xlsx +[\d,]+ +[\d.]+ +[\d,]+ +[\d.]+ +[\d.]+ +[\d.]+ .*\n(.*\n)*"
        r"bare openpyxl +[\d,]+ +[\d.]+(.*\n)*warm +[\d,]+ +[\d.]+(.*\n)*"
        r"\d+ CSVs of [\d,]+ rows +2 +[\d.]+(.*\n)*csv +[\d,]+ +[\d.]+ +[\d.]+",
        None,
    ),
    "bench_fault.py": (
        ["--export-url", "/bills/export.xlsx"],
        r"wrk: \d+ requests \([\d.]+/s\)",
        needs_wrk_and_a_private_postgres,
    ),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, production_static) -> dict[str, str]:
    """What every smoke run would otherwise make again, named as bench/smoke.py reads it:
    the tiny databases, migrated and seeded once (each run copies its own), and the
    production static files (served as they are)."""
    databases = tmp_path_factory.mktemp("bench-smoke-databases")
    result = subprocess.run(
        [sys.executable, "bench/smoke.py", "--prepare", str(databases)],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        "BENCH_SMOKE_DATABASES": str(databases),
        "BENCH_SMOKE_STATIC_ROOT": str(production_static),
    }


def test_every_benchmark_has_a_smoke_run():
    assert sorted(path.name for path in (ROOT / "bench").glob("bench_*.py")) == sorted(BENCHMARKS)


@pytest.mark.bench
@pytest.mark.parametrize("script", list(BENCHMARKS))
def test_the_benchmark_runs_at_its_tiny_size(script, prepared):
    arguments, figures, needs = BENCHMARKS[script]
    missing = needs() if needs else None
    if missing:
        pytest.skip(f"{script}: {missing}")
    # Its own throw-away database, whichever database the suite runs on.
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= prepared

    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--smoke", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(figures, result.stdout), result.stdout[-3000:]
