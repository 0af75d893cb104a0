"""Who may open which page: the role each URL needs, declared once, enforced in one place.

`REQUIRED_ROLE` names every URL of the console by its URL name. `RoleMiddleware` looks
up the URL a request resolved to and refuses it (a 403 page naming the role it needs)
when the member's role in the current organization is below it; templates ask the same
table (`{% if request|may:"exports:list" %}`) to show only what the role may do. A URL
that is in neither `REQUIRED_ROLE` nor `NO_ROLE` is refused to everyone, and the system
check below stops `manage.py check` (so `scripts/serve`) until it is declared.

Anything that later authenticates another way (an API key) sets `request.role` and is
checked against the same table: `permits(role, url_name)`.
"""

from __future__ import annotations

import logging

from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

from .models import Membership

Role = Membership.Role

logger = logging.getLogger(__name__)

# Each role may do what the roles before it may.
RANK = {Role.VIEWER: 1, Role.FINANCE: 2, Role.OWNER: 3}

REQUIRED_ROLE: dict[str, Role] = {
    # Viewer: the bills, their details, the overview, the bill and credit note PDFs.
    "bills:overview": Role.VIEWER,
    "bills:list": Role.VIEWER,
    "bills:detail": Role.VIEWER,
    "bills:pdf": Role.VIEWER,
    "bills:credit_note_pdf": Role.VIEWER,
    # Finance: Export Data, bulk downloads and their Exports page, the Product Market,
    # orders and cancelling them.
    "bills:export_xlsx": Role.FINANCE,
    "bills:export_csv": Role.FINANCE,
    "bills:export_zip": Role.FINANCE,
    "exports:list": Role.FINANCE,
    "exports:download": Role.FINANCE,
    "exports:cancel": Role.FINANCE,
    "bills:market": Role.FINANCE,
    "bills:product_order": Role.FINANCE,
    "bills:orders": Role.FINANCE,
    "bills:order_detail": Role.FINANCE,
    "bills:order_cancel": Role.FINANCE,
    # Owner: who is a member and with which role, and what everyone did.
    "bills:members": Role.OWNER,
    "bills:member_add": Role.OWNER,
    "bills:member_role": Role.OWNER,
    "bills:member_remove": Role.OWNER,
    "bills:activity": Role.OWNER,
    # The API (api/): a key acts with settings.API_KEY_ROLE; members with their own role.
    "api:bills": Role.VIEWER,
    "api:bill": Role.VIEWER,
    "api:bill_pdf": Role.VIEWER,
    "api:schema": Role.VIEWER,
    "api:docs": Role.VIEWER,
    "api:products": Role.FINANCE,  # the Product Market's catalogue and prices
    "api:orders": Role.FINANCE,
    "api:order": Role.FINANCE,
    "api:exports": Role.FINANCE,  # Export Data and Download Bills (ZIP), and their files
    "api:export": Role.FINANCE,
    "api:export_file": Role.FINANCE,
    "api:keys": Role.OWNER,
    "api:key_create": Role.OWNER,
    "api:key_revoke": Role.OWNER,
}

# URLs that need no role in an organization, and why.
NO_ROLE = {
    "healthz",  # the load balancer's, before any login
    "home",  # a redirect to the Bills page, which is checked
    "login",
    "logout",
    "set_language",  # the top bar's switcher, the login page's too
    "bills:switch_organization",  # chooses among the user's own organizations only
}

# The admin checks its own permissions (staff only) and is not the console's.
OTHER_PERMISSIONS = ("admin",)


def required_role(url_name: str | None) -> Role | None:
    """The role `url_name` needs; KeyError if it is not declared at all."""
    if url_name in NO_ROLE:
        return None
    return REQUIRED_ROLE[url_name]


def permits(role: str | None, url_name: str) -> bool:
    """Whether a member with `role` may open `url_name` (False if it is not declared)."""
    if url_name in NO_ROLE:
        return True
    needed = REQUIRED_ROLE.get(url_name)
    return needed is not None and role is not None and RANK[Role(role)] >= RANK[needed]


def is_declared_elsewhere(url_name: str) -> bool:
    return url_name.split(":", 1)[0] in OTHER_PERMISSIONS


class RoleMiddleware:
    """Refuses a URL to a member whose role in the current organization is below the one
    REQUIRED_ROLE names for it. After CurrentOrganizationMiddleware, which sets
    `request.role`; before the view, so no view can forget it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        url_name = request.resolver_match.view_name
        if is_declared_elsewhere(url_name) or url_name in NO_ROLE:
            return None
        if url_name not in REQUIRED_ROLE:
            # Refused to everyone until declared; the system check says so at start-up.
            logger.error("No role declared for %s in bills/roles.py: refused", url_name)
            return refused(request, None)
        if getattr(view, "checks_its_own_role", False):
            # An API endpoint: it authenticates its key first, then asks `permits` itself
            # (api/permissions.py), and answers in JSON.
            return None
        if not request.user.is_authenticated:
            return None  # LoginRequiredMiddleware has sent them to log in
        if getattr(request, "organization", None) is None:
            # A member of no organization: every query is scoped to none, and the console
            # says "No organization yet".
            return None
        if permits(getattr(request, "role", None), url_name):
            return None
        return refused(request, REQUIRED_ROLE[url_name])


def refused(request: HttpRequest, needed: Role | None) -> HttpResponse:
    """The 403 page, saying which role the page needs and which the member has."""
    role = getattr(request, "role", None)
    context = {
        "needed_role": needed.label if needed else None,
        "current_role": Role(role).label if role else None,
        "organization_name": getattr(getattr(request, "organization", None), "name", ""),
    }
    return render(request, "403.html", context, status=403)


def console_url_names(resolver: URLResolver | None = None, namespace: str = "") -> list[str]:
    """Every URL pattern's name, namespaced, except those that check their own
    permissions; an unnamed pattern is listed by its view's dotted path, as Django
    names it when it resolves (and no table can declare it)."""
    names = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace or "") if part)
            names += console_url_names(entry, inner)
        elif isinstance(entry, URLPattern):
            name = entry.name or entry.lookup_str
            name = f"{namespace}:{name}" if namespace else name
            if not is_declared_elsewhere(name):
                names.append(name)
    return names


@checks.register(checks.Tags.security, checks.Tags.urls)
def check_every_url_has_a_role(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """bills.E100: a URL without a declared role would be refused to everyone."""
    return [
        checks.Error(
            f"The URL {name!r} declares no role.",
            hint="Add it to REQUIRED_ROLE (or NO_ROLE, saying why) in bills/roles.py.",
            obj=name,
            id="bills.E100",
        )
        for name in console_url_names()
        if name not in REQUIRED_ROLE and name not in NO_ROLE
    ]
