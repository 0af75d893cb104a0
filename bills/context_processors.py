from __future__ import annotations

from functools import partial

from .models import Organization
from .summaries import pending_count


def console(request) -> dict:
    """What the console shell shows on every page: the organization and the Pending badge."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organization = request.organization
    return {
        "current_organization": organization,
        "user_organizations": Organization.objects.for_user(user).order_by("name"),
        # Callable: only pages that show the badge pay for it.
        "pending_bills_count": partial(pending_count, organization),
    }
