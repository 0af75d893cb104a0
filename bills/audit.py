"""The audit trail: one row per download, export and status change.

`audit_record` never raises. A download must not fail because its audit row could not be
written: it retries once (on a fresh connection when the first one broke), then logs the
event at ERROR level, so the log still holds it, and lets the caller carry on.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest

from .models import AuditEvent, Organization

logger = logging.getLogger(__name__)

ATTEMPTS = 2


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP: REMOTE_ADDR, or what the outermost trusted proxy saw.

    With TRUSTED_PROXY_COUNT = n, the n right-most X-Forwarded-For entries were written by
    the console's own proxies; anything left of them was sent by the client and is not
    trusted. Login throttling (django-axes) and the audit trail both use this.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: AuditEvent.Action | str,
    request: HttpRequest | None = None,
    user=None,
    organization: Organization | None = None,
    obj: models.Model | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    api_key=None,
) -> AuditEvent | None:
    """Record who did `action` (to `obj`, in `organization`); return None if it could not.

    `request` supplies the user, the current organization and the client IP unless they
    are given. With `api_key` (api.models.ApiKey) the action was made with that key: no
    person acted, the key is named instead. Never raises: see the module docstring.
    """
    if request is not None:
        user = user if user is not None else getattr(request, "user", None)
        if organization is None:
            organization = getattr(request, "organization", None)
        ip_address = ip_address or client_ip(request)
    if api_key is not None or (user is not None and not user.is_authenticated):
        user = None
    actor_username = user.get_username() if user is not None else ""
    if api_key is not None:
        actor_username = f"API key {api_key.prefix}"
        details = (details or {}) | {
            "api_key": {"id": api_key.pk, "prefix": api_key.prefix, "name": api_key.name}
        }
    fields = {
        "action": action,
        "actor": user,
        "actor_username": actor_username,
        "organization": organization,
        "object_type": obj._meta.model_name if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "object_repr": str(obj)[:200] if obj is not None else "",
        "details": details or {},
        "ip_address": ip_address,
    }
    for attempt in range(1, ATTEMPTS + 1):
        try:
            # A savepoint, so a failed insert leaves the caller's transaction usable.
            with transaction.atomic():
                return AuditEvent.objects.create(**fields)
        except Exception:
            if attempt < ATTEMPTS:
                logger.warning("Audit event not written, retrying once", exc_info=True)
                if not connection.in_atomic_block:
                    # Drop a connection the failure broke, so the retry opens a new one.
                    connection.close_if_unusable_or_obsolete()
            else:
                logger.error(
                    "Audit event lost after %d attempts: %s",
                    ATTEMPTS,
                    _describe(fields),
                    exc_info=True,
                )
    return None


def _describe(fields: dict[str, Any]) -> str:
    organization = fields["organization"]
    return (
        f"action={fields['action']} user={fields['actor_username'] or '-'} "
        f"organization={organization.pk if organization is not None else '-'} "
        f"object={fields['object_type']}:{fields['object_id']} ip={fields['ip_address']} "
        f"details={fields['details']!r}"
    )
