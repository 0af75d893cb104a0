from __future__ import annotations

from functools import partial

from .summaries import pending_count


def console(request) -> dict:
    """What the console shell shows on every page: the organization and the Pending badge."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organization = request.organization
    return {
        "current_organization": organization,
        # Set by CurrentOrganizationMiddleware; absent if an error stopped the request first.
        "user_organizations": getattr(request, "user_organizations", []),
        # Callable: only pages that show the badge pay for it.
        "pending_bills_count": partial(pending_count, organization),
    }
