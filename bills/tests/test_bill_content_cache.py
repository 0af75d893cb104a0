"""The Bills page's cached content is keyed by what the page reads of its query string
only: parameters it ignores (`?utm_source=...`, `?x=<random>`) are the same page and the
same cache entry, so they cannot push other organizations' pages out of the cache."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.http import QueryDict

from bills import summaries, views
from bills.tests.html import app_keys


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The organization of every render of the Bills page's content (cache misses)."""
    made: list[str] = []
    render = views._bill_list_content

    def counting(request):
        made.append(request.organization.slug)
        return render(request)

    monkeypatch.setattr(views, "_bill_list_content", counting)
    return made


def test_unknown_parameters_hit_the_same_entry(member_client, bill, renders):
    first = member_client.get("/bills/")
    for n in range(50):
        response = member_client.get("/bills/", {"junk": n, f"utm_{n}": "x"})

        assert response.status_code == 200
        assert app_keys(response) == app_keys(first)
    assert renders == ["acme"]


def test_unknown_parameters_cannot_evict_another_organizations_page(
    client, member, outsider, bill, make_bill, other_application, renders, settings
):
    make_bill(other_application)
    # A small cache: a few distinct pages would push the others out.
    settings.CACHES = settings.CACHES | {
        summaries.PAGES: settings.CACHES[summaries.PAGES] | {"OPTIONS": {"MAX_ENTRIES": 3}}
    }
    caches[summaries.PAGES].clear()
    client.force_login(outsider)
    client.get("/bills/")

    client.force_login(member)
    for n in range(30):
        client.get(f"/bills/?x={n}&junk={'y' * n}")
    client.force_login(outsider)
    assert app_keys(client.get("/bills/")) == ["globexkey01"]

    assert renders == ["globex", "acme"]


def test_the_filter_forms_empty_fields_are_the_same_page(member_client, bill, renders):
    member_client.get("/bills/?status=pending")
    member_client.get("/bills/?cycle=&cycle_from=&cycle_to=&status=pending&application=&q=")
    member_client.get("/bills/?q=&status=pending&page=&per_page=&sort=&junk=1")

    assert renders == ["acme"]


def test_what_the_page_reads_still_makes_its_own_entry(member_client, bill, renders):
    for query in ("", "status=pending", "status=cleared", "page=1", "per_page=10", "product="):
        member_client.get(f"/bills/?{query}")

    assert len(renders) == 6


def content(response) -> str:
    """The page without its per-request CSRF token, nor the address the shell's
    switchers (organization, language) return to, which is the request's own."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return re.sub(r'name="next" value="[^"]*"', "", page)


@pytest.mark.parametrize(
    ("query", "same_as"),
    [
        ("utm_source=mail&x=1", ""),
        ("cycle=", ""),
        ("status=&application=&q=&sort=&page=&per_page=", ""),
        ("cycle=&cycle_from=&cycle_to=&status=pending&application=&q=", "status=pending"),
        ("junk=1&status=x&page=2", "status=x&page=2"),
    ],
)
def test_queries_with_one_key_render_the_same_content(
    member_client, bill, query, same_as, settings
):
    """The key may only merge queries whose pages are identical: rendered afresh, they are."""
    assert summaries.page_query(QueryDict(query)) == summaries.page_query(QueryDict(same_as))
    settings.CACHES = settings.CACHES | {
        summaries.PAGES: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    }

    assert content(member_client.get(f"/bills/?{query}")) == content(
        member_client.get(f"/bills/?{same_as}")
    )


def test_an_empty_product_is_an_error_so_it_keeps_its_own_key():
    assert summaries.page_query(QueryDict("product=")) == [("product", [""])]
    assert summaries.page_query(QueryDict("status=&junk=1")) == []
    assert summaries.page_query(QueryDict("status=a&status=")) == [("status", ["a", ""])]
