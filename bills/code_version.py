"""The version of the code behind a cached entry, for the entry's key."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.conf import settings


@functools.cache
def code_version(*patterns: str) -> str:
    """A short digest of the files matching `patterns` (globs under BASE_DIR), e.g.
    `code_version("bills/pdf.py", "templates/bills/*.html")`, for the key of a cache that
    outlives a deploy: servers on old and new code never read each other's entries.

    Read once per process; code only changes with a restart. A pattern that matches
    nothing is an error rather than a digest that silently stops following the code."""
    base = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    for pattern in patterns:
        paths = sorted(base.glob(pattern))
        if not paths:
            raise FileNotFoundError(f"code_version: nothing matches {pattern!r} in {base}")
        for path in paths:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
