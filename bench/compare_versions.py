"""The uncached Bills page and the Overview of several checkouts of the console, run in
turns on one database, so load from elsewhere on the machine falls on all of them alike.
Run by hand, not by pytest.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/bench .venv/bin/python \\
        bench/compare_versions.py [--rounds 4] [--repeat 5] \\
        before=/tmp/before-sparkline main=/tmp/main-sparkline branch=.

Each checkout needs its own `.venv`. Every round runs, per checkout and in an order that
rotates from round to round, this branch's `bench_overview.py` (both pages' caches
emptied before every request; `--bills-only` where the checkout has no Overview) and
`bench_bill_list.py --fresh-content` (the page's content not cached, its totals cached),
each on that checkout's code: the scripts are copied into its `.bench-compare/` for the
run. Prints every round's medians, then the median of those per checkout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_overview.py", "bench_bill_list.py", "smoke.py")
OVERVIEW_SCENARIOS = ("last 12 closed cycles (the default)", "2 products, Pending, 12 cycles")
LIST_SCENARIOS = ("first page", "filtered (2 products, 10 months, Pending)")


def run(checkout: Path, script: str, *arguments: str) -> str:
    scripts = checkout / ".bench-compare"
    scripts.mkdir(exist_ok=True)
    try:
        for name in SCRIPTS:
            shutil.copy(HERE / name, scripts / name)
        completed = subprocess.run(
            [str(checkout / ".venv/bin/python"), str(scripts / script), *arguments],
            cwd=checkout,
            capture_output=True,
            text=True,
            env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"},
        )
    finally:
        shutil.rmtree(scripts)
    if completed.returncode:
        sys.exit(f"{checkout}: {script} failed:\n{completed.stderr[-2000:]}")
    return completed.stdout


def overview_medians(output: str) -> dict[tuple[str, str], tuple]:
    """{(scenario, page): (median ms, queries)} from bench_overview.py's table."""
    found = {}
    for line in output.splitlines():
        scenario, page = line[:38].strip(), line[39:47].strip()
        if scenario in OVERVIEW_SCENARIOS and page in ("bills", "overview"):
            queries, _kb, median, *_ = line[47:].split()
            found[scenario, page] = (float(median), int(queries))
    return found


def list_medians(output: str) -> dict[tuple[str, str], tuple[float, int, float]]:
    """{(scenario, "fresh content"): (median ms, queries, fastest ms)} from
    bench_bill_list.py's table."""
    found = {}
    for line in output.splitlines():
        scenario = line[:44].strip()
        if scenario in LIST_SCENARIOS:
            _rows, queries, _kb, median, _p90, fastest, *_ = line[44:].split()
            found[scenario, "fresh content"] = (float(median), int(queries), float(fastest))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--list-only",
        action="store_true",
        help="only the Bills page's content (--fresh-content), first page and filtered: "
        "without the Overview's seconds a round is short enough for many versions",
    )
    parser.add_argument("versions", nargs="+", metavar="NAME=CHECKOUT")
    options = parser.parse_args()
    versions = {
        name: Path(path).resolve()
        for name, path in (version.split("=", 1) for version in options.versions)
    }
    repeat = ["--repeat", str(options.repeat)]
    results: dict[tuple[str, str, str], list[float]] = {}
    fastest: dict[tuple[str, str, str], list[float]] = {}
    queries: dict[tuple[str, str, str], int] = {}
    for round_number in range(options.rounds):
        names = list(versions)
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            checkout = versions[name]
            found: dict[tuple[str, str], tuple] = {}
            if options.list_only:
                only = ["--only", "first page", "filtered (2 products, 10 months"]
            else:
                only = []
                bills_only = [] if (checkout / "bills/overview.py").exists() else ["--bills-only"]
                found = overview_medians(run(checkout, "bench_overview.py", *repeat, *bills_only))
            found |= list_medians(
                run(checkout, "bench_bill_list.py", "--fresh-content", *repeat, *only)
            )
            for (scenario, page), (median, count, *least) in sorted(found.items()):
                results.setdefault((scenario, page, name), []).append(median)
                fastest.setdefault((scenario, page, name), []).extend(least)
                queries[scenario, page, name] = count
                print(f"round {round_number + 1} {name:8} {scenario:44} {page:14} {median:7.1f}")
            sys.stdout.flush()
    print(
        f"\nmedian of {options.rounds} rounds' medians (ms) / fastest request where measured, "
        f"queries; load {os.getloadavg()}"
    )
    for scenario, page in sorted({(s, p) for s, p, _ in results}):
        cells = []
        for name in versions:
            runs = results.get((scenario, page, name))
            if runs:
                count = queries[scenario, page, name]
                least = fastest[scenario, page, name]
                low = f" / {min(least):5.1f}" if least else ""
                cells.append(f"{name} {statistics.median(runs):7.1f}{low} ({count}q)")
        print(f"{scenario:44} {page:14} " + "  ".join(cells))


if __name__ == "__main__":
    main()
