"""Which organization the signed-in user is looking at."""

from __future__ import annotations

from .models import Organization

SESSION_KEY = "organization_id"


def current_organization(request) -> Organization | None:
    """The organization chosen in the session, if the user is still a member; else their first."""
    organizations = Organization.objects.for_user(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        organization = organizations.filter(pk=chosen).first()
        if organization is not None:
            return organization
    return organizations.order_by("name", "pk").first()


class CurrentOrganizationMiddleware:
    """Sets `request.organization`, always one the user belongs to (or None)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = (
            current_organization(request) if request.user.is_authenticated else None
        )
        return self.get_response(request)
