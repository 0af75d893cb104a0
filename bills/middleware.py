"""Which organization the signed-in user is looking at, and who may keep its pages."""

from __future__ import annotations

from django.db.models import F
from django.utils.cache import patch_cache_control

from .models import Organization

SESSION_KEY = "organization_id"


def user_organizations(request) -> list[Organization]:
    """The organizations the signed-in user belongs to, by name: one query per request,
    shared by the choice below and the top bar's organization switcher. Each carries
    `role`, the user's role in it (the membership that for_user joined)."""
    if not request.user.is_authenticated:
        return []
    organizations = Organization.objects.for_user(request.user).annotate(
        role=F("memberships__role")
    )
    return list(organizations.order_by("name", "pk"))


def current_organization(request, organizations: list[Organization]) -> Organization | None:
    """The organization chosen in the session, if the user is still a member; else their first."""
    chosen = request.session.get(SESSION_KEY)
    for organization in organizations:
        if organization.pk == chosen:
            return organization
    return organizations[0] if organizations else None


class CurrentOrganizationMiddleware:
    """Sets `request.organization`, always one the user belongs to (or None),
    `request.role`, the user's role in it (bills/roles.py), and
    `request.user_organizations`, all of them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user_organizations = user_organizations(request)
        request.organization = current_organization(request, request.user_organizations)
        request.role = getattr(request.organization, "role", None)
        return self.get_response(request)


class PrivatePagesMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user.

    Every such page (redirects and error pages too) shows or leads to one organization's
    data: no shared cache may store it, and no browser may keep it on disk or in its
    back-forward cache for the next person at the same computer. One place, so a new view
    cannot forget it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
