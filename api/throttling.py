"""Requests per key and minute, counted in the database so that every server counts the
same requests, and a key's `last_used_at` written by the same statement."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.db.models.functions import Now, TruncMinute
from rest_framework.throttling import BaseThrottle

from .models import ApiKey


class ApiKeyRateThrottle(BaseThrottle):
    """settings.API_RATE_LIMIT_PER_MINUTE requests per key in each calendar minute;
    above it, 429 with Retry-After (the seconds to the next minute). Session requests
    are not limited here: a person in a browser is not a script.

    The minute is the database's, not the web server's: servers whose clocks differ by a
    few seconds would otherwise each start a new minute, and reset the count, at their
    own moment."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        minute = TruncMinute(Now(), tzinfo=dt.UTC)
        # One UPDATE: each database applies it to the row under a lock, so concurrent
        # requests on several servers each add one (SET reads the row's previous values).
        ApiKey.objects.filter(pk=key.pk).update(
            rate_count=Case(When(rate_window=minute, then=F("rate_count") + 1), default=Value(1)),
            rate_window=minute,
            last_used_at=Now(),
        )
        count, now = (
            ApiKey.objects.filter(pk=key.pk).annotate(now=Now()).values_list("rate_count", "now")
        ).get()
        self.retry_after = 60 - now.second
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> float:
        return getattr(self, "retry_after", 60)
