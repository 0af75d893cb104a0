from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]
        help_texts = {"name": _("What the key is for, e.g. “Month-end export script”.")}
