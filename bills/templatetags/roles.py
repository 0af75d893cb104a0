"""`{% if request|may:"exports:list" %}`: show a link or button only to a role that may use it.

Cosmetic: bills.roles.RoleMiddleware enforces the same table whatever the page shows.
"""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from ..models import Membership
from ..roles import permits

register = template.Library()


@register.filter
def may(request: HttpRequest | None, url_name: str) -> bool:
    """Whether the signed-in member may open `url_name` in the current organization."""
    return request is not None and permits(getattr(request, "role", None), url_name)


@register.filter
def role_label(value: str) -> str:
    """`finance` -> `Finance` (or its translation); an unknown value as it was stored."""
    try:
        return Membership.Role(value).label
    except ValueError:
        return value
