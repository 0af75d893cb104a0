"""`Authorization: Bearer bc_<prefix>_<secret>`: who an API request acts for."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .models import ApiKey


class KeyHolder(AnonymousUser):
    """`request.user` of a request made with a key: no person, but signed in, so the
    console's private-page headers (bills.middleware.PrivatePagesMiddleware) apply."""

    def __init__(self, key: ApiKey) -> None:
        self.api_key = key

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_username(self) -> str:
        return f"API key {self.api_key.prefix}"

    def __str__(self) -> str:
        return self.get_username()


class ApiKeyAuthentication(BaseAuthentication):
    """Finds the key by its visible prefix, then compares the secret's hash in constant
    time. Read from the database on every request, never cached: a revoked key is
    refused by every server from the next request on."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None  # not ours: the session may still authenticate the request
        if len(header) != 2:
            raise AuthenticationFailed(_("Send the key as “Authorization: Bearer <key>”."))
        try:
            parts = ApiKey.split_key(header[1].decode("ascii"))
        except UnicodeDecodeError:
            parts = None
        key = None
        if parts is not None:
            key = ApiKey.objects.select_related("organization").filter(prefix=parts[0]).first()
        if key is None or not key.matches(parts[1]):
            raise AuthenticationFailed(_("Unknown API key."))
        if key.is_revoked:
            raise AuthenticationFailed(_("This API key has been revoked."))
        # What CurrentOrganizationMiddleware sets for a signed-in member, here for the key:
        # the views scope every query by it, and the role table (bills/roles.py) reads the role.
        request._request.organization = key.organization
        request._request.role = settings.API_KEY_ROLE
        request._request.api_key = key
        return KeyHolder(key), key

    def authenticate_header(self, request) -> str:
        # Makes a missing or refused key a 401 (DRF answers 403 without it).
        return 'Bearer realm="api"'
