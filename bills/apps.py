from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bills"
    verbose_name = _("Orders & Bills")

    def ready(self) -> None:
        # Connects the login signal that restores a user's chosen language.
        # Registers the system check that every URL declares the role it needs.
        from . import (
            languages,  # noqa: F401
            roles,  # noqa: F401
        )
