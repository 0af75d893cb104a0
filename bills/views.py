from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .filters import bill_filter
from .middleware import SESSION_KEY
from .models import Bill, Order, Organization, Product
from .paging import DEFAULT_PER_PAGE, PER_PAGE_CHOICES, paginate

PAGE_SIZE = 25


def _bills(request: HttpRequest):
    """Every bill query starts here: the current organization's bills only."""
    return Bill.objects.for_organization(request.organization)


def _get_bill_for_user(request: HttpRequest, pk: int) -> Bill:
    # Another organization's bill is a 404, exactly like a missing one.
    return get_object_or_404(
        _bills(request).select_related("organization", "product", "application"), pk=pk
    )


# The Bills page (issue 3) ----------------------------------------------------------


def bill_list(request: HttpRequest) -> HttpResponse:
    bills = bill_filter(request.GET, request)
    context = {"filter": bills, "section": "bills", "per_page_choices": PER_PAGE_CHOICES}
    if bills.is_bound and not bills.is_valid():
        # The form shows what is wrong; no bills, rather than a silently widened list.
        return render(request, "bills/bill_list.html", context)
    summary = bills.qs.summary()
    paged = paginate(
        bills.qs.select_related("product", "application"), request.GET, count=summary.count
    )
    # Links to other pages and sorts keep the filter and the page size, and nothing else.
    query = bills.as_query()
    if paged.per_page != DEFAULT_PER_PAGE:
        query["per_page"] = paged.per_page
    context |= {
        "summary": summary,
        "page": paged.page,
        "pager_form": paged.form,
        "query": query,
        "filtered": any(key not in ("sort", "per_page") for key in query),
        "sort": bills.sort_key,
    }
    return render(request, "bills/bill_list.html", context)


def bill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bill = _get_bill_for_user(request, pk)
    return render(
        request,
        "bills/bill_detail.html",
        {"bill": bill, "lines": bill.lines.all(), "section": "bills"},
    )


# ---------------------------------------------------------------------------------------


def product_market(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "bills/product_market.html",
        {"products": Product.objects.all(), "section": "market"},
    )


def order_list(request: HttpRequest) -> HttpResponse:
    orders = Order.objects.for_organization(request.organization).select_related(
        "product", "ordered_by"
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "bills/order_list.html", {"page": page, "section": "orders"})


@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    organization = get_object_or_404(
        Organization.objects.for_user(request.user), pk=request.POST.get("organization") or 0
    )
    request.session[SESSION_KEY] = organization.pk
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "bills:list"
    return redirect(next_url)
