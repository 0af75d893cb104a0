from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import SESSION_KEY
from .models import Bill, Order, Organization, Product

PAGE_SIZE = 25


def _bills(request: HttpRequest):
    """Every bill query starts here: the current organization's bills only."""
    return Bill.objects.for_organization(request.organization)


def _get_bill_for_user(request: HttpRequest, pk: int) -> Bill:
    # Another organization's bill is a 404, exactly like a missing one.
    return get_object_or_404(
        _bills(request).select_related("organization", "product", "application"), pk=pk
    )


def bill_list(request: HttpRequest) -> HttpResponse:
    bills = _bills(request).select_related("organization", "product", "application")
    page = Paginator(bills, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "bills/bill_list.html", {"page": page, "section": "bills"})


def bill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bill = _get_bill_for_user(request, pk)
    return render(
        request,
        "bills/bill_detail.html",
        {"bill": bill, "lines": bill.lines.all(), "section": "bills"},
    )


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
