"""Every page of the console, listed from the URLconf, for the CSP, i18n, axe and role tests.

A page added to bills/urls.py (or a model added to the admin) is covered without
touching the tests; a URL with a parameter these helpers cannot fill fails loudly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, reverse

from api.models import ApiKey
from bills.models import Membership
from exports.models import Export


@dataclass(frozen=True)
class Page:
    name: str
    url: str

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")


def named_patterns(resolver=None, namespace: str | None = None) -> Iterator[tuple[str, Any]]:
    """(namespaced name, pattern) for every named URL pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace
            joined = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            yield from named_patterns(entry, joined)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def all_pages(sample: Callable[[str, str], Any], *, admin: bool = True) -> list[Page]:
    """Every named URL (the admin's too, unless admin=False), its parameters filled by
    sample(url_name, parameter)."""
    pages = []
    for name, pattern in named_patterns():
        if not admin and name.startswith("admin:"):
            continue
        kwargs = {param: sample(name, param) for param in pattern.pattern.regex.groupindex}
        pages.append(Page(name, reverse(name, kwargs=kwargs)))
    return pages


def sampler(*, bill, order, product, user) -> Callable[[str, str], Any]:
    """Fills URL parameters with these objects' ids (and any admin object's)."""

    def sample(url_name: str, parameter: str):
        if parameter == "note_pk":
            # The first credit note of `bill` (the `site` fixture issues one).
            return bill.credit_notes.order_by("pk").values_list("pk", flat=True).first() or 0
        if parameter == "pk" and url_name.startswith(("exports:", "api:export")):
            # The first export of `bill`'s organization, or a missing one.
            export = Export.objects.filter(organization=bill.organization_id).first()
            return export.pk if export is not None else uuid.UUID(int=0)
        if parameter == "pk" and url_name == "api:key_revoke":
            # The first API key of `bill`'s organization, or a missing one.
            key = ApiKey.objects.filter(organization=bill.organization_id).order_by("pk").first()
            return key.pk if key is not None else 0
        if parameter == "pk" and url_name.startswith(("bills:order", "api:order")):
            return order.pk
        if parameter == "pk" and url_name.startswith("bills:member_"):
            # The newest membership of `bill`'s organization: not its first owner's.
            newest = Membership.objects.filter(organization=bill.organization_id).last()
            return newest.pk if newest is not None else 0
        if parameter == "pk":
            return bill.pk
        if parameter == "code":
            return product.code
        if parameter == "id":
            return user.pk
        if parameter == "app_label":
            return "bills"
        if parameter == "content_type_id":
            return ContentType.objects.get_for_model(bill).pk
        if parameter == "object_id":
            return bill.pk if url_name == "admin:view_on_site" else admin_object_id(url_name)
        raise AssertionError(f"No sample value for <{parameter}> in {url_name}: add one here")

    return sample


def admin_object_id(url_name: str) -> str:
    """The pk of an existing object for admin:<app>_<model>_<verb>, or one that is missing."""
    name = url_name.removeprefix("admin:")
    # App labels may hold underscores themselves (django_tasks_database): the longest wins.
    app_label = max(
        (config.label for config in apps.get_app_configs() if name.startswith(f"{config.label}_")),
        key=len,
    )
    model_name = name.removeprefix(f"{app_label}_").rsplit("_", 1)[0]
    model = apps.get_model(app_label, model_name)
    first = model._default_manager.order_by("pk").first()
    return str(first.pk) if first is not None else "0"


class InlineCodeFinder(HTMLParser):
    """What a strict CSP would block: inline styles, scripts and handlers, other origins."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for attribute, value in attrs:
            if attribute == "style":
                self.problems.append(f'<{tag} style="{value}">')
            if attribute.startswith("on"):
                self.problems.append(f"<{tag} {attribute}=...>")
            if attribute in {"href", "src", "action"} and (value or "").startswith("javascript:"):
                self.problems.append(f"<{tag} {attribute}={value}>")
        if tag == "style" and "nonce" not in attributes:
            self.problems.append("<style> element")
        # A JSON <script> is data the browser never runs; the admin passes settings so.
        executable = attributes.get("type") != "application/json"
        inline = not attributes.get("src") and "nonce" not in attributes
        if tag == "script" and executable and inline:
            self.problems.append("inline <script>")
        for attribute in ("src", "href"):
            value = attributes.get(attribute) or ""
            loads = tag in {"script", "img", "iframe", "link", "source", "video", "audio"}
            if loads and value.startswith(("http:", "https:", "//")):
                self.problems.append(f"<{tag} {attribute}={value}> from another origin")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems
