"""API keys: an organization's credentials for scripts, which read and export (issue 16)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bills.models import Organization

# `bc_<prefix>_<secret>`: the prefix is shown on the API keys page to recognise a key and
# finds its row; the secret is only ever shown once, when the key is made.
KEY_SCHEME = "bc"
PREFIX_BYTES = 4  # 8 hex digits
SECRET_BYTES = 32
PREFIX_PATTERN = re.compile(rf"[0-9a-f]{{{PREFIX_BYTES * 2}}}")


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret, hex.

    Not a password hasher (PBKDF2, Argon2): those are slow on purpose so that a stolen
    hash of a guessable password takes long to crack. A key's secret is 32 random bytes,
    not guessable, so a fast hash is as safe, and every API request can afford it."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | None) -> ApiKeyQuerySet:
        if organization is None:
            return self.none()
        return self.filter(organization=organization)

    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # The creator may be deleted one day; the page keeps the name they had.
    created_by_name = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # The rate limit's current minute and the requests made in it (api/throttling.py):
    # in the database, so every server counts the same requests.
    rate_window = models.DateTimeField(null=True, blank=True, editable=False)
    rate_count = models.PositiveIntegerField(default=0, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def matches(self, secret: str) -> bool:
        """Whether `secret` is this key's, compared in constant time."""
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    @staticmethod
    def new_secret() -> tuple[str, str]:
        """A fresh (prefix, secret)."""
        return secrets.token_hex(PREFIX_BYTES), secrets.token_urlsafe(SECRET_BYTES)

    @staticmethod
    def full_key(prefix: str, secret: str) -> str:
        return f"{KEY_SCHEME}_{prefix}_{secret}"

    @staticmethod
    def split_key(key: str) -> tuple[str, str] | None:
        """`bc_<prefix>_<secret>` -> (prefix, secret); None if it is not shaped so."""
        scheme, _sep, rest = key.partition("_")
        prefix, _sep, secret = rest.partition("_")
        # Only what a key can hold reaches the database (PostgreSQL refuses a NUL, say).
        if scheme != KEY_SCHEME or not PREFIX_PATTERN.fullmatch(prefix) or not secret:
            return None
        return prefix, secret
