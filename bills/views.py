from __future__ import annotations

import datetime as dt
import tempfile
import zoneinfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import excel
from .filters import BillFilter, bill_filter
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


# Export Data (issue 5) ------------------------------------------------------------------
# The Bills page's filter as a download. The same FilterSet and query string as the list,
# so a file holds exactly the bills the screen selects, in the list's order.

# values_list() fields in excel.COLUMNS order; "payment_status" is annotated below.
EXPORT_FIELDS = (
    "number",
    "billing_cycle",
    "product__name",
    "organization__name",
    "whatsapp_business_account",
    "application__app_key",
    "application__app_id",
    "application__name",
    "service_usage",
    "product__usage_unit",
    "consumption_amount",
    "currency",
    "payment_status",
    "overdraft_amount",
    "bill_date",
)
EXPORT_CHUNK_SIZE = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_rows(bills: QuerySet[Bill]):
    """Plain tuples straight from the database cursor, a chunk at a time."""
    payment_status = Case(
        *(When(status=value, then=Value(str(label))) for value, label in Bill.Status.choices),
        default=F("status"),
        output_field=CharField(),
    )
    return (
        bills.annotate(payment_status=payment_status)
        .values_list(*EXPORT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


def _describe_filter(filterset: BillFilter) -> str:
    """`Product: SMS, Email; Status: Pending`, for the workbook's properties."""
    if not filterset.is_bound:
        return "all bills"
    parts = []
    for name, value in filterset.form.cleaned_data.items():
        if isinstance(value, QuerySet | list | tuple):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dt.date):
            value = value.strftime("%Y-%m")
        elif name == "status" and value:
            value = Bill.Status(value).label
        if value:
            parts.append(f"{filterset.form.fields[name].label}: {value}")
    return "; ".join(parts) or "all bills"


def _filter_errors(filterset: BillFilter) -> str:
    form = filterset.form
    return " ".join(
        " ".join(errors) if name == "__all__" else f"{form.fields[name].label}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


def _back_to_list(request: HttpRequest) -> HttpResponse:
    """The Bills page with the same query string, where the filter's errors show."""
    query = request.GET.urlencode()
    return redirect(reverse("bills:list") + (f"?{query}" if query else ""))


@require_GET
def bill_export_xlsx(request: HttpRequest) -> HttpResponse:
    return _bill_export(request, "xlsx")


@require_GET
def bill_export_csv(request: HttpRequest) -> HttpResponse:
    return _bill_export(request, "csv")


def _too_many_bills(request: HttpRequest, count: int | None = None) -> HttpResponse:
    selected = f"This filter selects {count:,} bills; " if count else ""
    messages.error(
        request,
        f"Nothing was exported. {selected}an Excel sheet holds at most "
        f"{excel.MAX_XLSX_BILLS:,} bills. Narrow the filter, for example to fewer billing "
        "cycles, or download the CSV.",
    )
    return _back_to_list(request)


def _bill_export(request: HttpRequest, file_format: str) -> HttpResponse:
    organization = request.organization
    if organization is None:
        raise Http404("No organization")
    filterset = bill_filter(request.GET, request)
    # Unbound (no query string at all) means every bill, as on the list.
    if filterset.is_bound and not filterset.is_valid():
        # Never a file from a silently widened filter: nothing, and the list's message.
        messages.error(request, f"Nothing was exported. {_filter_errors(filterset)}")
        return _back_to_list(request)
    if file_format == "xlsx":
        count = filterset.qs.count()
        if count > excel.MAX_XLSX_BILLS:
            return _too_many_bills(request, count)
    try:
        output = _write_export(file_format, filterset, organization)
    except excel.TooManyRows:
        # Bills issued between the count and the export pushed it over the limit.
        return _too_many_bills(request)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(organization.time_zone))
    response = FileResponse(
        output,
        as_attachment=True,
        filename=f"bills-{organization.slug}-{today:%Y%m%d}.{file_format}",
        content_type=XLSX_CONTENT_TYPE if file_format == "xlsx" else "text/csv; charset=utf-8",
    )
    add_never_cache_headers(response)
    return response


def _write_export(file_format: str, filterset: BillFilter, organization: Organization):
    """The finished file, rewound, in an unnamed temporary file: nothing is ever left on
    disk, whatever happens to the request. FileResponse closes it once sent, or when the
    client goes away."""
    time_zone = zoneinfo.ZoneInfo(organization.time_zone)
    rows = _export_rows(filterset.qs)
    output = tempfile.TemporaryFile(prefix="bills-export-")  # noqa: SIM115
    try:
        if file_format == "xlsx":
            excel.write_bills_xlsx(
                rows,
                output,
                organization=organization.name,
                filter_description=_describe_filter(filterset),
                time_zone=time_zone,
                max_rows=excel.MAX_XLSX_BILLS,
            )
        else:
            excel.write_bills_csv(rows, output, time_zone=time_zone)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output
