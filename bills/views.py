from __future__ import annotations

import hashlib
import logging
import sys
import tempfile
import zoneinfo

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import defaults
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exports.models import Export
from exports.services import TooManyExports, export_refusal, export_request

from . import excel
from .audit import audit_record, client_ip
from .exporting import audited_filters, describe_filter, write_bills_file
from .filters import BillFilter, IdChoiceField, activity_filter, bill_filter, order_filter
from .forms import MemberAddForm, MemberRoleForm, OrderForm
from .middleware import SESSION_KEY
from .models import AuditEvent, Bill, Membership, Order, Organization, Product, ProductPrice
from .money import format_money
from .overview import TOP_APPLICATIONS, build_overview, with_default_range
from .paging import DEFAULT_PER_PAGE, PER_PAGE_CHOICES, paginate
from .pdf import (
    MAX_LINES,
    BillTooLarge,
    RenderTimedOut,
    render_bill_pdf,
    render_credit_note_pdf,
)
from .services import (
    AlreadyMember,
    InvalidTransition,
    LastOwner,
    NoSuchUser,
    UnpaidOrderExists,
    find_user,
    member_add,
    member_remove,
    member_set_role,
    order_cancel,
    order_place,
    unpaid_order_for,
)
from .summaries import bill_list_content, bill_sparkline, bill_summary, overview_figures
from .templatetags.billing import quantity

PAGE_SIZE = 25

logger = logging.getLogger(__name__)


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
    context = {"section": "bills"}
    if request.organization is not None:  # else the console says there is none
        context["content"] = bill_list_content(request, lambda: _bill_list_content(request))
    return render(request, "bills/bill_list.html", context)


def _bill_list_content(request: HttpRequest) -> str:
    """The Bills page's filters, totals, table and pages for `request.GET`."""
    bills = bill_filter(request.GET, request)
    context = {"filter": bills, "per_page_choices": PER_PAGE_CHOICES}
    if bills.is_bound and not bills.is_valid():
        # The form shows what is wrong; no bills, rather than a silently widened list.
        return loader.render_to_string("bills/_bill_list_content.html", context, request)
    summary = bill_summary(bills, request.organization)
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
        "sparkline": bill_sparkline(summary, request.organization),
        "overview_query": _without(query, "sort", "per_page").urlencode(),
    }
    return loader.render_to_string("bills/_bill_list_content.html", context, request)


# The Spend overview (issue 14) -----------------------------------------------------------


def overview(request: HttpRequest) -> HttpResponse:
    """Charts of the bills the Bills page's filter selects (default: 12 closed cycles)."""
    context = {"section": "overview", "top_applications": TOP_APPLICATIONS}
    if request.organization is None:  # the console says there is none
        return render(request, "bills/overview.html", context)
    bills = bill_filter(with_default_range(request.GET, request.organization), request)
    context["filter"] = bills
    if bills.is_valid():
        figures = overview_figures(
            bills,
            request.organization,
            lambda: build_overview(bills, lambda query: bill_filter(query, request)),
        )
        context |= figures.context()
    return render(request, "bills/overview.html", context)


def _without(query, *names: str):
    query = query.copy()
    for name in names:
        query.pop(name, None)
    return query


# A bill may have tens of thousands of lines: its page shows them a hundred at a time.
LINES_PER_PAGE = 100


def bill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bill = _get_bill_for_user(request, pk)
    # A page number that is not one (or past the end) shows the first (or the last) page.
    lines = Paginator(bill.lines.order_by("position"), LINES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    credit_notes = bill.credit_notes.select_related("bill_line") if bill.credited_amount else []
    return render(
        request,
        "bills/bill_detail.html",
        {
            "bill": bill,
            "lines": lines,
            "page": lines,
            "credit_notes": credit_notes,
            "section": "bills",
        },
    )


# Download Bill: the per-bill PDF (issue 4) ----------------------------------------------


def bill_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    bill = _get_bill_for_user(request, pk)
    context = {"bill": bill, "section": "bills"}
    try:
        # In the reader's language: the one the request activated (LocaleMiddleware,
        # then the member's choice on their Profile).
        pdf = render_bill_pdf(bill, language=request.LANGUAGE_CODE)
    except BillTooLarge as error:
        context |= {"line_count": error.line_count, "max_lines": MAX_LINES}
        return render(request, "bills/bill_pdf_too_large.html", context, status=422)
    except RenderTimedOut as error:
        # Logged: a bill that cannot be printed is one for staff to look at.
        logger.warning("Bill PDF not rendered: %s", error)
        context |= {"seconds": error.seconds}
        return render(request, "bills/bill_pdf_too_large.html", context, status=422)
    # The digest tells an auditor exactly which file was handed out, Pending or Cleared.
    details = {"status": bill.status, "pdf_sha256": hashlib.sha256(pdf).hexdigest()}
    audit_record(action=AuditEvent.Action.BILL_DOWNLOAD, request=request, obj=bill, details=details)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{bill.number}.pdf")
    # Private, no-store: bills.middleware.PrivatePagesMiddleware, for every page of a user.
    return response


def credit_note_pdf(request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
    """A credit note's PDF, found through its bill: another organization's is a 404."""
    bill = _get_bill_for_user(request, pk)
    note = get_object_or_404(bill.credit_notes.select_related("bill_line"), pk=note_pk)
    note.bill = bill
    pdf = render_credit_note_pdf(note, language=request.LANGUAGE_CODE)  # as bill_pdf
    details = {"bill": bill.number, "pdf_sha256": hashlib.sha256(pdf).hexdigest()}
    audit_record(
        action=AuditEvent.Action.CREDIT_NOTE_DOWNLOAD, request=request, obj=note, details=details
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{note.number}.pdf")
    return response


# Product Market and Order Management ----------------------------------------------------


def _orders(request: HttpRequest):
    """Every order query starts here: the current organization's orders only."""
    return Order.objects.for_organization(request.organization)


def _get_order_for_user(request: HttpRequest, pk: int) -> Order:
    # Another organization's order is a 404, exactly like a missing one.
    return get_object_or_404(
        _orders(request).select_related("organization", "product", "ordered_by", "bill"), pk=pk
    )


def _market_products(request: HttpRequest):
    """The catalogue with its list prices in the organization's currency."""
    currency = request.organization.currency if request.organization else ""
    return Product.objects.prefetch_related(
        Prefetch("prices", queryset=ProductPrice.objects.in_currency(currency), to_attr="listed")
    )


def product_market(request: HttpRequest) -> HttpResponse:
    unpaid = {}
    if request.organization is not None:
        unpaid = {
            order.product_id: order
            for order in _orders(request).placed_by_members().unpaid().order_by("ordered_at")
        }
    products = list(_market_products(request))
    for product in products:
        product.unpaid_order = unpaid.get(product.pk)
    return render(request, "bills/product_market.html", {"products": products, "section": "market"})


def product_order(request: HttpRequest, code: str) -> HttpResponse:
    """The ordering form of one product: GET shows it, POST places an Unpaid order."""
    product = get_object_or_404(_market_products(request), code=code)
    if request.organization is None:
        return render(
            request, "bills/product_order.html", {"product": product, "section": "market"}
        )
    form = OrderForm(
        request.POST if request.method == "POST" else None,
        organization=request.organization,
        product=product,
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = order_place(
                organization=request.organization,
                product=product,
                order_type=form.cleaned_data["order_type"],
                amount=form.cleaned_data["amount"],
                ordered_by=request.user,
            )
        except UnpaidOrderExists as exc:
            # Another request placed one since the form was checked.
            form.existing_order = exc.order
            form.add_error(
                None,
                _("There is already an Unpaid order for %(product)s.") % {"product": product.name},
            )
        else:
            messages.success(
                request,
                _(
                    "Order %(number)s placed: %(type)s of %(amount)s %(currency)s for "
                    "%(product)s. It is Unpaid until payment arrives."
                )
                % {
                    "number": order.number,
                    "type": order.get_order_type_display(),
                    "amount": format_money(order.amount, order.currency),
                    "currency": order.currency,
                    "product": product.name,
                },
            )
            return redirect(order)
    # On a fresh visit, an Unpaid order replaces the form with a link to it.
    unpaid_order = None if form.is_bound else unpaid_order_for(request.organization, product)
    return render(
        request,
        "bills/product_order.html",
        {"product": product, "form": form, "unpaid_order": unpaid_order, "section": "market"},
    )


def order_list(request: HttpRequest) -> HttpResponse:
    filterset = order_filter(request.GET, request)
    orders = filterset.qs.select_related("product", "ordered_by", "bill")
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "bills/order_list.html",
        {
            "page": page,
            "filter": filterset,
            "is_filtered": any(request.GET.get(name) for name in filterset.filters),
            "section": "orders",
        },
    )


def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    return render(request, "bills/order_detail.html", {"order": order, "section": "orders"})


@require_POST
def cancel_order(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an Unpaid order: a first POST asks to confirm, a POST with `confirm` does it."""
    order = _get_order_for_user(request, pk)
    if not order.is_unpaid:
        messages.error(request, _not_cancellable(order))
        return redirect(order)
    if request.POST.get("confirm") != "yes":
        return render(
            request, "bills/order_cancel_confirm.html", {"order": order, "section": "orders"}
        )
    try:
        order_cancel(order=order, cancelled_by=request.user)
    except InvalidTransition:
        # Paid or cancelled by someone else between the confirmation and now.
        order.refresh_from_db()
        messages.error(request, _not_cancellable(order))
    else:
        messages.success(
            request,
            _("Order %(number)s is cancelled; it is now Closed.") % {"number": order.number},
        )
    return redirect(order)


def _not_cancellable(order: Order) -> str:
    return _("Order %(number)s is %(status)s: only Unpaid orders can be cancelled.") % {
        "number": order.number,
        "status": order.get_status_display(),
    }


@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    # Validated as a choice among the user's own organizations: anything else ("abc",
    # "1.5", a NUL, 2**63, nothing) is a 404, exactly like another organization's id.
    choice = IdChoiceField(queryset=Organization.objects.for_user(request.user))
    try:
        organization = choice.clean(request.POST.get("organization"))
    except ValidationError:
        raise Http404("No such organization") from None
    request.session[SESSION_KEY] = organization.pk
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "bills:list"
    return redirect(next_url)


# Members and Activity, for owners (issue 16) ------------------------------------------
# Who may open these is bills/roles.py's business; the views only scope to the
# organization, so another organization's membership is a 404 like a missing one.


def _memberships(request: HttpRequest):
    return Membership.objects.for_organization(request.organization)


def _get_membership_for_user(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(_memberships(request).select_related("user", "organization"), pk=pk)


@require_GET
def members(request: HttpRequest) -> HttpResponse:
    return _members_page(request)


def _members_page(request: HttpRequest, add_form: MemberAddForm | None = None) -> HttpResponse:
    """The members, their roles and the form that adds one (with its errors, if given)."""
    memberships = _memberships(request).select_related("user").order_by("user__username")
    context = {
        "memberships": memberships,
        "add_form": add_form or MemberAddForm(),
        "roles": Membership.Role.choices,
        "section": "members",
    }
    return render(request, "bills/members.html", context, status=400 if add_form else 200)


@require_POST
def member_add_view(request: HttpRequest) -> HttpResponse:
    if request.organization is None:
        raise Http404("No organization")
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _members_page(request, add_form=form)
    try:
        user = find_user(form.cleaned_data["user"])
        membership = member_add(
            organization=request.organization,
            user=user,
            role=form.cleaned_data["role"],
            by=request.user,
            ip_address=client_ip(request),
        )
    except NoSuchUser:
        form.add_error(
            "user",
            _(
                "No account has the username or email address “%(user)s”. Check the spelling, "
                "or ask the person to sign up first: only existing accounts can be added."
            )
            % {"user": form.cleaned_data["user"]},
        )
        return _members_page(request, add_form=form)
    except AlreadyMember as exc:
        form.add_error(
            "user",
            _("%(user)s is already a member, as %(role)s.")
            % {
                "user": exc.membership.user.get_username(),
                "role": exc.membership.get_role_display(),
            },
        )
        return _members_page(request, add_form=form)
    messages.success(
        request,
        _("%(user)s is now a member of %(organization)s, as %(role)s.")
        % {
            "user": membership.user.get_username(),
            "organization": request.organization.name,
            "role": membership.get_role_display(),
        },
    )
    return redirect("bills:members")


@require_POST
def member_role_view(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_membership_for_user(request, pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Viewer, Finance or Owner."))
        return redirect("bills:members")
    try:
        membership = member_set_role(
            membership=membership,
            role=form.cleaned_data["role"],
            by=request.user,
            ip_address=client_ip(request),
        )
    except LastOwner:
        messages.error(
            request,
            _(
                "%(user)s is the last owner of %(organization)s and keeps the Owner role: an "
                "organization always has one. Make another member an owner first."
            )
            % _names(membership),
        )
        return redirect("bills:members")
    messages.success(
        request,
        _("%(user)s is now %(role)s.")
        % {"user": membership.user.get_username(), "role": membership.get_role_display()},
    )
    # An owner who gave up the role may no longer see this page.
    return redirect("bills:members" if membership.user != request.user else "bills:list")


@require_POST
def member_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_membership_for_user(request, pk)
    try:
        member_remove(membership=membership, by=request.user, ip_address=client_ip(request))
    except LastOwner:
        messages.error(
            request,
            _(
                "%(user)s is the last owner of %(organization)s and cannot be removed: an "
                "organization always has one. Make another member an owner first."
            )
            % _names(membership),
        )
        return redirect("bills:members")
    messages.success(
        request,
        _("%(user)s is no longer a member of %(organization)s.")
        % {"user": membership.user.get_username(), "organization": membership.organization.name},
    )
    return redirect("bills:members" if membership.user != request.user else "bills:list")


def _names(membership: Membership) -> dict[str, str]:
    return {"user": membership.user.get_username(), "organization": membership.organization.name}


def activity(request: HttpRequest) -> HttpResponse:
    """The organization's audit trail, newest first, filtered and a page at a time."""
    context = {"section": "activity"}
    if request.organization is None:  # the console says there is none
        return render(request, "bills/activity.html", context)
    events = activity_filter(request.GET, request)
    context["filter"] = events
    if events.is_valid() or not events.is_bound:
        paged = paginate(events.qs.select_related("actor"), request.GET, count=events.qs.count())
        query = request.GET.copy()
        query.pop("page", None)
        context |= {
            "page": paged.page,
            "query": query,
            "is_filtered": any(request.GET.get(name) for name in events.filters),
        }
    return render(request, "bills/activity.html", context)


# Production readiness: the login lockout page and the 500/503 handler --------------------


def login_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: the login page again, saying why and how long."""
    cool_off = get_cool_off(request)
    form = AuthenticationForm(
        request, initial={"username": get_client_username(request, credentials) or ""}
    )
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "locked_out": True,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else 0,
    }
    return render(request, "registration/login.html", context, status=429)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that cannot be reached is a 503 "try again", not a 500.

    A handler rather than a middleware because the database is first touched by other
    middleware (the session, the user, the current organization), whose exceptions never
    reach a middleware's process_exception; every uncaught exception reaches this handler.
    """
    if _is_database_unavailable(exception := sys.exception()):
        reason = str(exception).strip().partition("\n")[0]
        logger.warning("Database unavailable, answering 503 for %s: %s", request.path, reason)
        # Rendered without the request: no context processor may touch the database.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = "10"
        # One line per request, above; settings.LOGGING drops django.request's traceback.
        return response
    return defaults.server_error(request)


def _is_database_unavailable(exception: BaseException | None) -> bool:
    seen = set()
    while exception is not None and id(exception) not in seen:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        seen.add(id(exception))
        exception = exception.__cause__ or exception.__context__
    return False


# Export Data (issue 5) ------------------------------------------------------------------
# The Bills page's filter as a download. The same FilterSet and query string as the list,
# so a file holds exactly the bills the screen selects, in the list's order.


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


# A GET downloads a small selection at once. A large one, and every ZIP, is a background
# job that only a POST queues: the GET shows a page whose button posts, with its CSRF
# token (the buttons on the Bills page are links: that content is cached per organization
# and holds no one's token).
@require_http_methods(["GET", "POST"])
def bill_export_xlsx(request: HttpRequest) -> HttpResponse:
    return _bill_export(request, "xlsx")


@require_http_methods(["GET", "POST"])
def bill_export_csv(request: HttpRequest) -> HttpResponse:
    return _bill_export(request, "csv")


@require_http_methods(["GET", "POST"])
def bill_export_zip(request: HttpRequest) -> HttpResponse:
    """Download Bills (ZIP): every selected bill's PDF, made by a background job."""
    filterset, response = _valid_export_filter(request)
    if response is not None:
        return response
    count = filterset.qs.count()
    if refusal := export_refusal(Export.Format.ZIP, count):
        messages.error(request, refusal)
        return _back_to_list(request)
    return _queue_export(request, Export.Format.ZIP, filterset, count)


def _valid_export_filter(request: HttpRequest):
    """The filter of an export request, or the response that refuses it."""
    if request.organization is None:
        raise Http404("No organization")
    filterset = bill_filter(request.GET, request)
    # Unbound (no query string at all) means every bill, as on the list.
    if filterset.is_bound and not filterset.is_valid():
        # Never a file from a silently widened filter: nothing, and the list's message.
        messages.error(
            request, _("Nothing was exported. %(errors)s") % {"errors": _filter_errors(filterset)}
        )
        return filterset, _back_to_list(request)
    return filterset, None


def _queue_export(request: HttpRequest, file_format: str, filterset, count: int):
    """A POST queues the export and lands on the Exports page; a GET asks to confirm."""
    if request.method != "POST":
        context = {
            "file_format": Export.Format(file_format),
            "count": count,
            "description": describe_filter(filterset),
            "action": request.get_full_path(),
            "section": "bills",
        }
        return render(request, "exports/export_confirm.html", context)
    try:
        export, new = export_request(
            organization=request.organization,
            user=request.user,
            file_format=file_format,
            bills=filterset,
            description=describe_filter(filterset),
            total=count,
        )
    except TooManyExports:
        messages.error(
            request,
            ngettext(
                "You already have %(count)d export queued or running. "
                "Wait for it to finish, or cancel it, then export again.",
                "You already have %(count)d exports queued or running. "
                "Wait for one to finish, or cancel one, then export again.",
                settings.EXPORTS_ACTIVE_PER_USER,
            )
            % {"count": settings.EXPORTS_ACTIVE_PER_USER},
        )
        return redirect("exports:list")
    if new:
        audit_record(
            action=AuditEvent.Action.EXPORT_REQUESTED,
            request=request,
            obj=export,
            details={
                "format": file_format,
                "filters": audited_filters(filterset),
                "rows": count,
            },
        )
        messages.success(
            request,
            _(
                "Your %(format)s of %(count)s bills is being prepared. "
                "It appears here when it is ready."
            )
            % {"format": export.get_file_format_display(), "count": quantity(count)},
        )
    else:
        messages.info(request, _("That export is already being prepared: it is the one below."))
    return redirect("exports:list")


def _too_many_bills(request: HttpRequest) -> HttpResponse:
    """Bills issued between the count and the export pushed it over an Excel sheet."""
    messages.error(
        request,
        _(
            "Nothing was exported. An Excel sheet holds at most %(max)s bills. Narrow the "
            "filter, for example to fewer billing cycles, or download the CSV."
        )
        % {"max": quantity(excel.MAX_XLSX_BILLS)},
    )
    return _back_to_list(request)


def _bill_export(request: HttpRequest, file_format: str) -> HttpResponse:
    filterset, response = _valid_export_filter(request)
    if response is not None:
        return response
    organization = request.organization
    count = filterset.qs.count()
    if refusal := export_refusal(file_format, count):
        messages.error(request, refusal)
        return _back_to_list(request)
    if count > settings.EXPORT_INLINE_MAX_ROWS[file_format]:
        return _queue_export(request, file_format, filterset, count)
    try:
        output, summary = _write_export(file_format, filterset, organization)
    except excel.TooManyRows:
        return _too_many_bills(request)
    audit_record(
        request=request,
        action=AuditEvent.Action.BILLS_EXPORT,
        details={
            "format": file_format,
            "filters": audited_filters(filterset),
            "rows": summary.rows,
            "consumption": summary.consumption,
            "overdraft": summary.overdraft,
            "credited": summary.credited,
        },
    )
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(organization.time_zone))
    response = FileResponse(
        output,
        as_attachment=True,
        filename=f"bills-{organization.slug}-{today:%Y%m%d}.{file_format}",
        content_type=Export.CONTENT_TYPES[file_format],
    )
    add_never_cache_headers(response)
    return response


def _write_export(file_format: str, filterset: BillFilter, organization: Organization):
    """The finished file, rewound, in an unnamed temporary file (nothing is ever left on
    disk, whatever happens to the request; FileResponse closes it once sent, or when the
    client goes away), and what it holds."""
    output = tempfile.TemporaryFile(prefix="bills-export-")  # noqa: SIM115
    try:
        # Headers, status words and properties in the active language: the reader's.
        summary = write_bills_file(
            file_format,
            filterset.qs,
            output,
            organization=organization,
            description=describe_filter(filterset),
        )
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output, summary
