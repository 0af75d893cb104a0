"""Writes of API keys: made and revoked by an organization's owners, both audited."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from bills.audit import audit_record
from bills.models import AuditEvent, Organization

from .models import ApiKey, hash_secret


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, created_by, request: HttpRequest | None = None
) -> tuple[ApiKey, str]:
    """A new key of `organization` and its full secret, which is never stored nor shown again."""
    prefix, secret = ApiKey.new_secret()
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        created_by=created_by,
        created_by_name=created_by.get_username() if created_by is not None else "",
    )
    audit_record(
        action=AuditEvent.Action.API_KEY_CREATED,
        request=request,
        user=created_by,
        organization=organization,
        obj=key,
        details={"prefix": prefix, "name": name},
    )
    return key, ApiKey.full_key(prefix, secret)


@transaction.atomic
def api_key_revoke(*, key: ApiKey, revoked_by, request: HttpRequest | None = None) -> bool:
    """Revokes `key` for every server at once (the next request reads it from the
    database); False if it already was."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        key.refresh_from_db(fields=["revoked_at"])
        audit_record(
            action=AuditEvent.Action.API_KEY_REVOKED,
            request=request,
            user=revoked_by,
            organization=key.organization,
            obj=key,
            details={"prefix": key.prefix, "name": key.name},
        )
    return bool(revoked)
