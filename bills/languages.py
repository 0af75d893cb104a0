"""The language a person reads the console in: chosen in the top bar, saved with their
profile, and restored when they log in anywhere.

Until they choose, LocaleMiddleware decides from the language cookie, then the browser's
Accept-Language, then English. Their choice is saved twice: in the cookie (so the login
page after logging out stays in it) and on their Profile (so it follows them to another
browser), from where a login copies it into the session.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views import i18n
from django.views.decorators.http import require_POST

from .models import Profile

SESSION_KEY = "language"


def _supported(language: str | None) -> str | None:
    """`language` if it is one of settings.LANGUAGES, else None."""
    return language if language in dict(settings.LANGUAGES) else None


@receiver(user_logged_in)
def restore_language(sender, request: HttpRequest, user, **kwargs) -> None:
    """On login, the language the user chose last time, in whichever browser."""
    saved = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    if _supported(saved):
        request.session[SESSION_KEY] = saved


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, the redirect to `next`), and the user's profile."""
    response = i18n.set_language(request)
    language = _supported(request.POST.get("language"))
    if language and request.user.is_authenticated:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
        request.session[SESSION_KEY] = language
    return response


class UserLanguageMiddleware:
    """Activates the signed-in user's saved language, over the cookie and the browser.

    Read from the session (one lookup the request makes anyway), not the profile: the
    Bills page must not pay a query for it. After LocaleMiddleware, which has already
    chosen from the cookie and Accept-Language, and after the authentication middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = None
        if request.user.is_authenticated:
            language = _supported(request.session.get(SESSION_KEY))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            # Logging in elsewhere: the login page after logging out speaks it too.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
