"""
WSGI config for billing_console project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/6.1/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")

application = get_wsgi_application()

# Import the URLconf now rather than on the first request: with it come the views,
# WeasyPrint and openpyxl, ~0.9 s of CPU. gunicorn (preload_app) does this once, in the
# master, and forks workers that are ready; each used to pay it on its first request,
# and under load its first requests waited 2-4 s.
get_resolver().url_patterns  # noqa: B018
