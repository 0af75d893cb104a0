"""The console's URLs plus views that fail on purpose, for the error page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from billing_console.urls import handler500
from billing_console.urls import urlpatterns as console_urlpatterns

SECRET_IN_TRACEBACK = "kaboom-the-secret-in-the-traceback"


def crash(request):
    raise RuntimeError(SECRET_IN_TRACEBACK)


def forbidden(request):
    raise PermissionDenied("not for you")


def bad_request(request):
    raise SuspiciousOperation("tampered input")


urlpatterns = [
    path("crash/", crash),
    path("forbidden/", forbidden),
    path("bad/", bad_request),
    *console_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
