from __future__ import annotations

from bills.tests.conftest import *  # noqa: F403  (the console's fixtures: users, bills, ...)
