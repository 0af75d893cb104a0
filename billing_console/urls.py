from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from bills import languages

from . import health

urlpatterns = [
    # For the load balancer: no login, never cached (README: "Running on several machines").
    path("healthz", health.healthz, name="healthz"),
    path("", RedirectView.as_view(pattern_name="bills:list"), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The top bar's language switcher: a POST, open to the login page too.
    path("language/", languages.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("bills.urls")),
    path("", include("exports.urls")),
    path("", include("api.urls")),
]

# A database that is down answers 503 "try again" (bills.views.server_error).
handler500 = "bills.views.server_error"
