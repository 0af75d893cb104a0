"""The API asks the console's one role table (bills/roles.py), for members and keys alike."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from bills import roles


class ConsoleRole(BasePermission):
    """A member's role in their current organization, or a key's (settings.API_KEY_ROLE),
    must be at least the one REQUIRED_ROLE names for the endpoint's URL."""

    message = ""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401: no credentials, or none it could accept
        url_name = request.resolver_match.view_name
        if getattr(request, "organization", None) is None:
            self.message = _("You are not a member of any organization.")
            return False
        if roles.permits(getattr(request, "role", None), url_name):
            return True
        needed = roles.REQUIRED_ROLE.get(url_name)
        self.message = (
            _("This endpoint needs the %(role)s role.") % {"role": needed.label}
            if needed
            else _("This endpoint declares no role.")
        )
        return False
