"""Reads that more than one caller shares: the rows of Export Data."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Case, CharField, F, QuerySet, Value, When

from . import excel
from .models import Bill

EXPORT_CHUNK_SIZE = 2000


def export_rows(bills: QuerySet[Bill]) -> Iterator[tuple]:
    """The bills as plain tuples in `excel.COLUMNS` order, straight from the database
    cursor a chunk at a time (no Bill instances), in the queryset's order."""
    payment_status = Case(
        *(When(status=value, then=Value(str(label))) for value, label in Bill.Status.choices),
        default=F("status"),
        output_field=CharField(),
    )
    return (
        bills.annotate(payment_status=payment_status)
        .values_list(*excel.FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
