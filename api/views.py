"""The REST API (`/api/v1/`): it reads, and asks for and downloads exports; and the
console's API keys page for owners.

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
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
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
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bills.audit import audit_record
from bills.exporting import audited_filters, describe_filter
from bills.filters import SORT_FIELDS, BillFilter, OrderFilter, bill_filter, order_filter
from bills.models import AuditEvent, Bill, Order, Product, ProductPrice
from bills.paging import DEFAULT_PER_PAGE, PER_PAGE_CHOICES, CountedPaginator
from bills.pdf import MAX_LINES, BillTooLarge, RenderTimedOut, render_bill_pdf
from bills.summaries import bill_summary
from exports.models import Export
from exports.services import TooManyExports, export_refusal, export_request, fail_stalled
from exports.views import send_export

from .forms import ApiKeyForm
from .models import ApiKey
from .serializers import (
    BillDetailSerializer,
    BillSerializer,
    ExportSerializer,
    NewExportSerializer,
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
EXPORT_ID_PARAMETER = OpenApiParameter(
    "id", {"type": "string", "format": "uuid"}, OpenApiParameter.PATH, description="Its id."
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


class FileRenderer(BaseRenderer):
    """A file the view sends itself (an HttpResponse), for a client that accepts only its
    type; an error's JSON body is rendered as JSON."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class PdfRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class XlsxRenderer(FileRenderer):
    media_type = Export.CONTENT_TYPES[Export.Format.XLSX]
    format = "xlsx"


class CsvRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class ZipRenderer(FileRenderer):
    media_type = Export.CONTENT_TYPES[Export.Format.ZIP]
    format = "zip"


class BillPdf(APIView):
    """Download Bill: the same PDF, renderer and cache as the console's, and audited alike."""

    renderer_classes = [JSONRenderer, PdfRenderer]
    # No HEAD: it would be audited as a download that never happened.
    http_method_names = ["get", "options"]

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


# Exports: the Exports page's background jobs, asked for and downloaded by a script -----


def _exports(request):
    """Every export query starts here: the request's organization's exports only."""
    return Export.objects.for_organization(_organization(request)).select_related(
        "organization", "api_key"
    )


BODY_ERRORS = {
    400: OpenApiResponse(
        {
            "type": "object",
            "additionalProperties": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                ]
            },
        },
        description="The body is not valid JSON, or a field or filter is wrong: what is "
        "wrong, per field (a filter's under `filters`). Nothing is queued.",
    ),
    415: OpenApiResponse(DETAIL, description="The body is not `application/json`."),
}


@extend_schema_view(
    get=extend_schema(
        responses={200: ExportSerializer(many=True)} | NO_SUCH_PAGE | ERRORS,
        description="The organization's exports, newest first, whoever asked for them.",
    ),
    post=extend_schema(
        request=NewExportSerializer,
        responses={
            202: OpenApiResponse(ExportSerializer, description="Queued; see Location."),
            200: OpenApiResponse(
                ExportSerializer,
                description="The same export, asked for with the same key or by the same "
                "member, is already queued or running: that one.",
            ),
            409: OpenApiResponse(
                DETAIL,
                description="As many exports as one may have are queued or running "
                "(settings.EXPORTS_ACTIVE_PER_USER).",
            ),
            422: OpenApiResponse(
                DETAIL,
                description="The selection cannot be exported in this format: too many "
                "bills for one sheet or one ZIP, or no bill for a ZIP.",
            ),
        }
        | BODY_ERRORS
        | ERRORS,
        description="Ask for an export of the bills the filters select, as the Bills "
        "page's Export Data and Download Bills (ZIP) do: a background job. Follow its "
        "`url` until `status` is `ready`, then download `file_url`.",
    ),
)
class ExportList(generics.ListCreateAPIView):
    """Exports: xlsx, CSV or a ZIP of bill PDFs, made in the background."""

    serializer_class = ExportSerializer
    pagination_class = Pagination
    parser_classes = [JSONParser]

    def get_queryset(self):
        return _exports(self.request)

    def list(self, request, *args, **kwargs) -> Response:
        fail_stalled()
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs) -> Response:
        asked = NewExportSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        file_format = asked.validated_data["format"]
        query = QueryDict(mutable=True)
        for name, values in asked.validated_data["filters"].items():
            query.setlist(name, values)
        bills = bill_filter(query, request)
        if bills.is_bound and not bills.is_valid():
            raise ValidationError({"filters": _invalid_filter(bills).detail})
        count = bills.qs.count()
        if refusal := export_refusal(file_format, count):
            return Response({"detail": refusal}, status=422)
        api_key = getattr(request, "api_key", None)
        try:
            export, new = export_request(
                organization=request.organization,
                user=None if api_key else request.user,
                api_key=api_key,
                file_format=file_format,
                bills=bills,
                description=describe_filter(bills),
                total=count,
            )
        except TooManyExports:
            limit = settings.EXPORTS_ACTIVE_PER_USER
            detail = ngettext(
                "%(count)d export is already queued or running; "
                "wait for it to finish, then ask again.",
                "%(count)d exports are already queued or running; "
                "wait for one to finish, then ask again.",
                limit,
            ) % {"count": limit}
            return Response({"detail": detail}, status=409)
        if new:
            _audit(
                request,
                action=AuditEvent.Action.EXPORT_REQUESTED,
                obj=export,
                details={"format": file_format, "filters": audited_filters(bills), "rows": count},
            )
        data = self.get_serializer(export).data
        return Response(data, status=202 if new else 200, headers={"Location": str(data["url"])})


@extend_schema_view(
    get=extend_schema(
        parameters=[EXPORT_ID_PARAMETER],
        responses={200: ExportSerializer} | NOT_FOUND | ERRORS,
    )
)
class ExportDetail(generics.RetrieveAPIView):
    """An export's progress: queued, running (`done` of `total`), ready, failed, cancelled."""

    serializer_class = ExportSerializer

    def get_queryset(self):
        return _exports(self.request)

    def retrieve(self, request, *args, **kwargs) -> Response:
        fail_stalled()
        return super().retrieve(request, *args, **kwargs)


class ExportFile(APIView):
    """A ready export's file, audited like the Exports page's download."""

    renderer_classes = [JSONRenderer, XlsxRenderer, CsvRenderer, ZipRenderer]
    http_method_names = ["get", "options"]  # as BillPdf's

    @extend_schema(
        parameters=[EXPORT_ID_PARAMETER],
        responses={
            (200, renderer.media_type): OpenApiResponse(OpenApiTypes.BINARY)
            for renderer in (XlsxRenderer, CsvRenderer, ZipRenderer)
        }
        | {
            409: OpenApiResponse(DETAIL, description="Not ready: queued, running, failed."),
            410: OpenApiResponse(DETAIL, description="Expired: ask for the export again."),
        }
        | NOT_FOUND
        | ERRORS,
    )
    def get(self, request, pk) -> HttpResponse:
        export = get_object_or_404(_exports(request), pk=pk)
        if export.is_expired:
            return Response({"detail": _("That export has expired; export again.")}, status=410)
        if not export.is_downloadable:
            return Response({"detail": _("That export is not ready to download.")}, status=409)
        return send_export(request._request, export, api_key=getattr(request, "api_key", None))


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
