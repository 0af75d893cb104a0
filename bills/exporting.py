"""Export Data's pipeline, shared by the download (bills.views) and the background job
(exports.jobs): a filter in words, and a filter's bills written as xlsx or CSV."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext as _

from . import excel
from .filters import BillFilter
from .models import Bill, Organization
from .selectors import export_rows


def describe_filter(filterset: BillFilter) -> str:
    """`Product: SMS, Email; Status: Pending`, in the active language, for the workbook's
    properties and the Exports page."""
    if not filterset.is_bound:
        return _("all bills")
    parts = []
    for name, value in filterset.form.cleaned_data.items():
        if isinstance(value, QuerySet | list | tuple):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dt.date):
            value = formats.date_format(value, "YEAR_MONTH_FORMAT")
        elif name == "status" and value:
            value = Bill.Status(value).label
        if value:
            parts.append(f"{filterset.form.fields[name].label}: {value}")
    return "; ".join(parts) or _("all bills")


def audited_filters(filterset: BillFilter) -> dict:
    """The filter as the audit trail keeps it: `{"product": ["1", "2"], "status": "pending"}`."""
    return {
        name: values if len(values) > 1 else values[0]
        for name, values in filterset.as_query().lists()
    }


def write_bills_file(
    file_format: str,
    bills: QuerySet[Bill],
    output: BinaryIO,
    *,
    organization: Organization,
    description: str,
    counted: Callable[[Iterable], Iterable] = lambda rows: rows,
) -> excel.ExportSummary:
    """Write `bills` to `output` as "xlsx" or "csv"; `counted` wraps the rows (progress).

    Raises excel.TooManyRows past one sheet's rows."""
    time_zone = zoneinfo.ZoneInfo(organization.time_zone)
    rows = counted(export_rows(bills))
    if file_format == "xlsx":
        return excel.write_bills_xlsx(
            rows,
            output,
            organization=organization.name,
            filter_description=description,
            time_zone=time_zone,
            max_rows=excel.MAX_XLSX_BILLS,
        )
    return excel.write_bills_csv(rows, output, time_zone=time_zone)
