"""The read-only REST API (`/api/v1/`), and the console's API keys page for owners.

Every query starts from the request's organization (a member's current one, or the
key's), as the console's pages do; another organization's id is a 404 like a missing one.
"""

from __future__ import annotations

import functools
import hashlib
import logging

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bills.audit import audit_record
from bills.filters import SORT_FIELDS, BillFilter, OrderFilter, bill_filter, order_filter
from bills.models import AuditEvent, Bill, Order, Product, ProductPrice
from bills.paging import DEFAULT_PER_PAGE, PER_PAGE_CHOICES, CountedPaginator
from bills.pdf import MAX_LINES, BillTooLarge, RenderTimedOut, render_bill_pdf
from bills.summaries import bill_summary

from .forms import ApiKeyForm
from .models import ApiKey
from .serializers import (
    BillDetailSerializer,
    BillSerializer,
    OrderSerializer,
    ProductSerializer,
    Totals,
    TotalsSerializer,
)
from .services import api_key_create, api_key_revoke

logger = logging.getLogger(__name__)


def _organization(request):
    """The request's organization; None while drf-spectacular inspects the views."""
    return getattr(request, "organization", None)


def _audit(request, **fields) -> None:
    """audit_record for an API request, naming the key when one made it."""
    audit_record(request=request._request, api_key=getattr(request, "api_key", None), **fields)


# What every endpoint may answer besides its data: {"detail": "..."}.
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
ERRORS = {
    code: OpenApiResponse(DETAIL, description=description)
    for code, description in (
        (401, "No key, or a key that is unknown or revoked."),
        (403, "The key's or the member's role may not read this."),
        (429, "Too many requests with this key this minute: see Retry-After."),
    )
}
NOT_FOUND = {404: OpenApiResponse(DETAIL, description="No such object in this organization.")}
NO_SUCH_PAGE = {404: OpenApiResponse(DETAIL, description="No such page of the list.")}
FIELD_ERRORS = {
    400: OpenApiResponse(
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        description="A filter is not valid: what is wrong, per field. Never a wider list.",
    )
}
MONTH_PARAMETERS = [
    OpenApiParameter(
        name,
        {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-10"},
        OpenApiParameter.QUERY,
        description=description,
    )
    for name, description in (
        ("cycle", "A billing cycle, YYYY-MM."),
        ("cycle_from", "The first billing cycle, YYYY-MM."),
        ("cycle_to", "The last billing cycle, YYYY-MM."),
    )
]
# <int:pk> takes digits only: a minus sign never reaches the API.
ID_PARAMETER = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="Its id."
)
SORT_PARAMETER = OpenApiParameter(
    "sort",
    {"type": "string", "enum": [f"{sign}{key}" for key in SORT_FIELDS for sign in ("", "-")]},
    OpenApiParameter.QUERY,
    description="The order; newest billing cycle first unless given.",
)


MONEY_TOTALS = ("consumption_amount", "pending_amount", "overdraft_amount", "credited_amount")


class Pagination(PageNumberPagination):
    """`?page=2&per_page=50`, with links to the next and previous pages."""

    page_size = DEFAULT_PER_PAGE
    page_size_query_param = "per_page"
    max_page_size = PER_PAGE_CHOICES[-1]


class BillPagination(Pagination):
    """The Bills page's pages: counted by the totals' query, fetched by id (bills.paging)."""

    totals: dict | None = None

    def paginate_queryset(self, queryset, request, view=None):
        self.django_paginator_class = functools.partial(CountedPaginator, count=view.count)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        response.data["totals"] = self.totals
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        schema = super().get_paginated_response_schema(schema)
        money = {"type": "string", "format": "decimal", "example": "1234.50"}
        schema["properties"]["totals"] = {
            "type": "object",
            "description": "The Bills page's totals for the same filter.",
            "properties": {
                "count": {"type": "integer"},
                "currency": {"type": "string"},
                "pending_count": {"type": "integer"},
                **dict.fromkeys(
                    ("consumption_amount", "pending_amount", "overdraft_amount", "credited_amount"),
                    money,
                ),
            },
        }
        schema["required"].append("totals")
        return schema


def _invalid_filter(filterset) -> ValidationError:
    # Never a silently wider list: the field errors, as the Bills page shows them.
    return ValidationError({name: list(errors) for name, errors in filterset.errors.items()})


class BillList(generics.ListAPIView):
    """The Bills page's list: its filters, order, pages and totals."""

    serializer_class = BillSerializer
    pagination_class = BillPagination
    # For the schema's parameters; list() applies the FilterSet itself, to add up totals.
    filter_backends = [DjangoFilterBackend]
    filterset_class = BillFilter

    def get_queryset(self):
        return Bill.objects.for_organization(_organization(self.request))

    @extend_schema(
        parameters=[*MONTH_PARAMETERS, SORT_PARAMETER],
        responses={200: BillSerializer(many=True)} | FIELD_ERRORS | NO_SUCH_PAGE | ERRORS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs) -> Response:
        bills = bill_filter(request.query_params, request)
        if bills.is_bound and not bills.is_valid():
            raise _invalid_filter(bills)
        summary = bill_summary(bills, request.organization)
        self.count = summary.count
        self.paginator.totals = TotalsSerializer(
            Totals(summary, request.organization.currency)
        ).data
        page = self.paginate_queryset(bills.qs.select_related("product", "application"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[ID_PARAMETER], responses={200: BillDetailSerializer} | NOT_FOUND | ERRORS
    )
)
class BillDetail(generics.RetrieveAPIView):
    """A bill with its lines and the payer's tax information as issued."""

    serializer_class = BillDetailSerializer

    def get_queryset(self):
        return Bill.objects.for_organization(_organization(self.request)).select_related(
            "product", "application"
        )


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        # An error's JSON body, when the client asked for a PDF only.
        return JSONRenderer().render(data)


class BillPdf(APIView):
    """Download Bill: the same PDF, renderer and cache as the console's, and audited alike."""

    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        parameters=[ID_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            422: OpenApiResponse(DETAIL, description="The bill is too large to print."),
        }
        | NOT_FOUND
        | ERRORS,
    )
    def get(self, request, pk: int) -> HttpResponse:
        bill = get_object_or_404(
            Bill.objects.for_organization(request.organization).select_related(
                "organization", "product", "application"
            ),
            pk=pk,
        )
        try:
            # Accept-Language, else English (LocaleMiddleware); a member's own choice
            # when the request comes with their session.
            pdf = render_bill_pdf(bill, language=request.LANGUAGE_CODE)
        except BillTooLarge as error:
            return Response(
                {
                    "detail": _("This bill has too many lines to print: %(count)d of %(max)d.")
                    % {"count": error.line_count, "max": MAX_LINES}
                },
                status=422,
            )
        except RenderTimedOut as error:
            logger.warning("Bill PDF not rendered: %s", error)
            return Response({"detail": _("This bill could not be printed in time.")}, status=422)
        details = {"status": bill.status, "pdf_sha256": hashlib.sha256(pdf).hexdigest()}
        _audit(request, action=AuditEvent.Action.BILL_DOWNLOAD, obj=bill, details=details)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, f"{bill.number}.pdf")
        return response


@extend_schema_view(get=extend_schema(responses={200: ProductSerializer(many=True)} | ERRORS))
class ProductList(generics.ListAPIView):
    """The Product Market's catalogue, with list prices in the organization's currency."""

    serializer_class = ProductSerializer
    pagination_class = None  # a catalogue of a dozen products

    def get_queryset(self):
        organization = _organization(self.request)
        prices = ProductPrice.objects.in_currency(organization.currency if organization else "")
        return Product.objects.order_by("position", "id").prefetch_related(
            Prefetch("prices", queryset=prices, to_attr="listed")
        )


@extend_schema_view(
    get=extend_schema(
        responses={200: OrderSerializer(many=True)} | FIELD_ERRORS | NO_SUCH_PAGE | ERRORS
    )
)
class OrderList(generics.ListAPIView):
    """Order Management's list: its filters, newest first."""

    serializer_class = OrderSerializer
    pagination_class = Pagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter

    def get_queryset(self):
        return Order.objects.for_organization(_organization(self.request))

    def filter_queryset(self, queryset):
        orders = order_filter(self.request.query_params, self.request)
        if orders.is_bound and not orders.is_valid():
            raise _invalid_filter(orders)
        return orders.qs.select_related("product", "ordered_by")


@extend_schema_view(
    get=extend_schema(
        parameters=[ID_PARAMETER], responses={200: OrderSerializer} | NOT_FOUND | ERRORS
    )
)
class OrderDetail(generics.RetrieveAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        return Order.objects.for_organization(_organization(self.request)).select_related(
            "product", "ordered_by"
        )


# The console's pages: the API's docs, and the API keys page for owners ---------------


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI from the console's own static files; its start-up code is a static
    file too (static/api/docs.js), as the console's CSP allows no inline script."""
    return render(request, "api/docs.html", {"section": "api_docs"})


def _keys(request: HttpRequest):
    return ApiKey.objects.for_organization(request.organization)


def _keys_page(request: HttpRequest, status: int = 200, **context) -> HttpResponse:
    context = {
        "keys": _keys(request),
        "form": ApiKeyForm(),
        "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
        "section": "api_keys",
    } | context
    return render(request, "api/keys.html", context, status=status)


@require_GET
def keys(request: HttpRequest) -> HttpResponse:
    return _keys_page(request)


@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _keys_page(request, status=400, form=form)
    key, secret = api_key_create(
        organization=request.organization,
        name=form.cleaned_data["name"],
        created_by=request.user,
        request=request,
    )
    # Shown in this response only: the database keeps its hash, no page shows it again.
    return _keys_page(request, new_key=key, secret=secret)


@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(_keys(request), pk=pk)
    if api_key_revoke(key=key, revoked_by=request.user, request=request):
        messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
    return redirect("api:keys")
