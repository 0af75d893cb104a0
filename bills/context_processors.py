from __future__ import annotations

from .models import Bill, Organization


def console(request) -> dict:
    """What the console shell shows on every page: the organization and the Pending badge."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organization = request.organization
    return {
        "current_organization": organization,
        "user_organizations": Organization.objects.for_user(user).order_by("name"),
        "pending_bills_count": Bill.objects.for_organization(organization).pending().count,
    }
