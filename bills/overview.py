"""The Spend overview (issue 14): where the money goes, month by month.

Everything here starts from a valid `BillFilter` on the current organization's bills (the
Bills page's own FilterSet), adds up in SQL (three GROUP BY queries, whatever the number
of bills) and hands the templates Decimal amounts and chart geometry. Amounts are never
added across currencies: each currency gets its own charts.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .filters import BillFilter, MonthField
from .models import Application, Bill, MoneySum, Organization, Product
from .money import format_money
from .templatetags.billing import cycle

TOP_APPLICATIONS = 10
# Beyond this many months, the months axis shrinks to the months that hold bills.
MAX_AXIS_MONTHS = 36
DEFAULT_MONTHS = 12
CYCLE_PARAMETERS = ("cycle", "cycle_from", "cycle_to")
OVERDRAFT_SERIES = 7

# Okabe-Ito's colour-blind-safe palette, each with its own pattern, so that neighbouring
# products also differ in greyscale and in print.
SERIES_STYLES = [
    ("#0072B2", "solid"),
    ("#E69F00", "stripes"),
    ("#009E73", "dots"),
    ("#CC79A7", "cross"),
    ("#56B4E9", "hlines"),
    ("#D55E00", "vlines"),
    ("#F0E442", "stripes"),
    ("#332288", "solid"),  # Paul Tol's indigo: the overdraft, apart from the products
]


# The range of months ---------------------------------------------------------------------


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> int:
    """How many months `start`..`end` covers, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def last_closed_cycle(organization: Organization, now: dt.datetime | None = None) -> dt.date:
    """The most recent month that has ended in the organization's time zone."""
    local = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(organization.time_zone))
    return add_months(local.date().replace(day=1), -1)


def _month(value: str | None) -> dt.date | None:
    try:
        return MonthField().to_python(value)
    except Exception:  # an invalid month: the filter says so, nothing to fill in
        return None


def with_default_range(query: QueryDict, organization: Organization) -> QueryDict:
    """`query` with an explicit range of months, which the form then shows and every link
    keeps: the last 12 closed cycles when none is given, and the missing end of a half
    range (12 months back from an end; up to the last closed cycle from a start)."""
    query = query.copy()
    given = {name: query.get(name, "").strip() for name in CYCLE_PARAMETERS}
    if given["cycle"] or any(len(query.getlist(name)) > 1 for name in CYCLE_PARAMETERS):
        return query  # one month, or a repeated parameter the filter refuses
    start, end = _month(given["cycle_from"]), _month(given["cycle_to"])
    if (given["cycle_from"] and not start) or (given["cycle_to"] and not end):
        return query  # the filter's own message says what is wrong
    last = last_closed_cycle(organization)
    if not start and not end:
        end = last
    if not start:
        start = add_months(end, 1 - DEFAULT_MONTHS) if end.year > 1 or end.month >= 12 else end
    if not end:
        end = max(start, last)
    query["cycle_from"], query["cycle_to"] = f"{start:%Y-%m}", f"{end:%Y-%m}"
    return query


def selected_range(bills: BillFilter) -> tuple[dt.date, dt.date]:
    data = bills.form.cleaned_data
    if data.get("cycle"):
        return data["cycle"], data["cycle"]
    return data["cycle_from"], data["cycle_to"]


# The figures -----------------------------------------------------------------------------


@dataclass
class Segment:
    product: str
    series: int
    amount: Decimal
    url: str


@dataclass
class Month:
    month: dt.date
    segments: list[Segment] = field(default_factory=list)
    total: Decimal = Decimal(0)
    overdraft: Decimal = Decimal(0)
    count: int = 0
    url: str = ""


@dataclass
class ApplicationRow:
    name: str
    app_key: str
    amount: Decimal
    share: Decimal  # percent of the range's consumption in this currency
    url: str


@dataclass
class ProductChange:
    product: str
    current: Decimal
    previous: Decimal
    current_url: str
    previous_url: str

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def change_percent(self) -> Decimal | None:
        if not self.previous:
            return None
        return (self.change * 100 / self.previous).quantize(Decimal("0.1"))


@dataclass
class CurrencyOverview:
    """Every figure of one currency's bills in the range."""

    currency: str
    months: list[Month]
    products: list[tuple[str, int]]  # (name, series) in the catalogue's order
    applications: list[ApplicationRow]
    changes: list[ProductChange]
    consumption: Decimal
    overdraft: Decimal
    count: int
    index: int = 0

    @property
    def id(self) -> str:
        return f"c{self.index}-{self.currency.lower()}"

    # Drawn at each render, never stored with the figures: their words are in the
    # reader's language, and the figures are cached for every language.
    @property
    def consumption_chart(self) -> Chart:
        return consumption_chart(self)

    @property
    def table(self) -> list[tuple[Month, list[Segment | None]]]:
        """Each month with its segment of each product (None: no bills), in the order of
        `products`: the consumption table's cells, not looked up cell by cell in the template."""
        rows = []
        for month in self.months:
            by_product = {segment.product: segment for segment in month.segments}
            rows.append((month, [by_product.get(name) for name, _series in self.products]))
        return rows

    @property
    def overdraft_chart(self) -> Chart:
        return overdraft_chart(self)

    @property
    def applications_chart(self) -> Chart:
        return applications_chart(self)


@dataclass
class Overview:
    start: dt.date
    end: dt.date
    previous_start: dt.date | None
    previous_end: dt.date | None
    currencies: list[CurrencyOverview]
    bills_url: str
    months: int

    @property
    def is_empty(self) -> bool:
        return not self.currencies

    def context(self) -> dict:
        """What templates/bills/overview.html reads besides the filter."""
        wider_from = _months_back(self.end, 2 * self.months - 1)
        return {
            "overview": self,
            "patterns": patterns(),
            "range_months": self.months,
            "wider_from": f"{wider_from:%Y-%m}",
            "wider_start": wider_from,
        }


class Links:
    """Bills page URLs that select exactly the bills behind a figure: the filter as it
    is, with the products or the months replaced."""

    def __init__(self, bills: BillFilter) -> None:
        # A plain dict of lists, in the query's order: a page has a hundred links or more,
        # and QueryDict.copy() deep-copies every list for each.
        self.base = dict(bills.as_query().lists())
        self.base.pop("sort", None)
        self.list_url = reverse("bills:list")

    def bills(self, **replace: object) -> str:
        query = self.base.copy()
        for name, value in replace.items():
            if value is None:
                query.pop(name, None)
            elif isinstance(value, list):
                query[name] = [str(item) for item in value]
            else:
                query[name] = [str(value)]
        pairs = [(name, value) for name, values in query.items() for value in values]
        return f"{self.list_url}?{urlencode(pairs)}" if pairs else self.list_url

    def month(self, month: dt.date, **replace: object) -> str:
        return self.bills(cycle=f"{month:%Y-%m}", cycle_from=None, cycle_to=None, **replace)

    def range(self, start: dt.date, end: dt.date, **replace: object) -> str:
        if start == end:
            return self.month(start, **replace)
        return self.bills(
            cycle=None, cycle_from=f"{start:%Y-%m}", cycle_to=f"{end:%Y-%m}", **replace
        )


def _monthly(bills: QuerySet[Bill]) -> QuerySet:
    """Consumption and overdraft per currency, month and product: one GROUP BY."""
    return (
        bills.order_by()
        .values("currency", "billing_cycle", "product_id")
        .annotate(
            consumption=MoneySum("consumption_amount"),
            overdraft=MoneySum("overdraft_amount"),
            count=Count("*"),
        )
    )


def _top_applications(bills: QuerySet[Bill]) -> QuerySet:
    """The TOP_APPLICATIONS applications with the highest consumption, per currency: one
    GROUP BY with a window, so a second currency costs no second query. Their names come
    after, for those few: joined here, every one of 50,000 applications was read."""
    return (
        bills.order_by()
        .values("currency", "application_id")
        .annotate(amount=MoneySum("consumption_amount"))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("currency")],
                order_by=[F("amount").desc(), F("application_id").asc()],
            )
        )
        .filter(rank__lte=TOP_APPLICATIONS)
        .order_by("currency", "rank")
    )


def build_overview(bills: BillFilter, make_filter: Callable[[QueryDict], BillFilter]) -> Overview:
    """The figures of a valid BillFilter with a range of months. `make_filter` builds the
    same FilterSet for another query: the months are read through it over the previous
    range of the same length and this one, so the comparison applies exactly the same
    filters, in the same pass over the bills."""
    start, end = selected_range(bills)
    length = months_between(start, end)
    links = Links(bills)
    previous_start = previous_end = wider = None
    if (start.year - 1) * 12 + start.month > length:  # the previous range starts in year 1+
        query = bills.as_query()
        query.pop("cycle", None)
        query["cycle_from"] = f"{add_months(start, -length):%Y-%m}"
        query["cycle_to"] = f"{end:%Y-%m}"
        wider = make_filter(query)
        if wider.is_valid():  # cannot fail: the same filter, a valid range
            previous_start, previous_end = add_months(start, -length), add_months(start, -1)
        else:
            wider = None

    monthly = list(_monthly((wider or bills).qs))
    rows = [row for row in monthly if row["billing_cycle"] >= start]
    currencies = sorted({row["currency"] for row in rows})
    # The catalogue's names afterwards: joined, they made every group's key longer.
    catalogue = Product.objects.in_bulk({row["product_id"] for row in monthly})
    for row in monthly:
        product = catalogue[row["product_id"]]
        row |= {"product__name": product.name, "product__position": product.position}
    series: dict[int, int] = {}
    for row in sorted(rows, key=lambda row: (row["product__position"], row["product__name"])):
        series.setdefault(row["product_id"], len(series) % OVERDRAFT_SERIES)
    applications = defaultdict(list)
    top = list(_top_applications(bills.qs)) if rows else []
    names = (
        Application.objects.for_organization(bills.request.organization).in_bulk(
            {row["application_id"] for row in top}
        )
        if top
        else {}
    )
    for row in top:
        application = names[row["application_id"]]
        row |= {"application__name": application.name, "application__app_key": application.app_key}
        applications[row["currency"]].append(row)
    before = defaultdict(lambda: defaultdict(Decimal))
    for row in monthly:
        if row["billing_cycle"] < start:
            before[row["currency"]][row["product_id"]] += row["consumption"]

    overviews = []
    for index, currency in enumerate(currencies):
        mine = [row for row in rows if row["currency"] == currency]
        overview = _currency_overview(
            currency, mine, series, applications[currency], links, start, end
        )
        if wider is not None:
            overview.changes = _changes(
                mine,
                before[currency],
                catalogue,
                links,
                (start, end),
                (previous_start, previous_end),
            )
        overview.index = index
        overviews.append(overview)
    return Overview(
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        currencies=overviews,
        bills_url=links.range(start, end),
        months=length,
    )


def _changes(rows, before, catalogue, links, current_range, previous_range) -> list[ProductChange]:
    """Per product: this range's consumption and the previous range's (`before`)."""
    current = defaultdict(Decimal)
    for row in rows:
        current[row["product_id"]] += row["consumption"]
    products = sorted(
        {*current, *before}, key=lambda pk: (catalogue[pk].position, catalogue[pk].name)
    )
    return [
        ProductChange(
            product=catalogue[product].name,
            current=current[product],
            previous=before.get(product, Decimal(0)),
            current_url=links.range(*current_range, product=[product]),
            previous_url=links.range(*previous_range, product=[product]),
        )
        for product in products
    ]


def _currency_overview(currency, rows, series, applications, links, start, end) -> CurrencyOverview:
    months_with_bills = sorted({row["billing_cycle"] for row in rows})
    if months_between(start, end) > MAX_AXIS_MONTHS:
        # A range of decades: chart the span that holds bills, not hundreds of empty rows.
        start, end = months_with_bills[0], months_with_bills[-1]
    months = {}
    month = start
    while month <= end:
        months[month] = Month(month=month, url=links.month(month))
        month = add_months(month, 1)
    products: dict[str, int] = {}
    for row in sorted(rows, key=lambda row: (row["product__position"], row["product__name"])):
        entry = months.get(row["billing_cycle"])
        if entry is None:  # outside the charted span: cannot happen, but never mis-chart
            continue
        products.setdefault(row["product__name"], series[row["product_id"]])
        entry.segments.append(
            Segment(
                product=row["product__name"],
                series=series[row["product_id"]],
                amount=row["consumption"],
                url=links.month(row["billing_cycle"], product=[row["product_id"]]),
            )
        )
        entry.total += row["consumption"]
        entry.overdraft += row["overdraft"]
        entry.count += row["count"]
    consumption = sum((entry.total for entry in months.values()), Decimal(0))
    return CurrencyOverview(
        currency=currency,
        months=list(months.values()),
        products=list(products.items()),
        applications=[
            ApplicationRow(
                name=row["application__name"],
                app_key=row["application__app_key"],
                amount=row["amount"],
                share=(row["amount"] * 100 / consumption).quantize(Decimal("0.1"))
                if consumption
                else Decimal(0),
                url=links.range(start, end, application=row["application_id"]),
            )
            for row in applications
        ],
        changes=[],
        consumption=consumption,
        overdraft=sum((entry.overdraft for entry in months.values()), Decimal(0)),
        count=sum(entry.count for entry in months.values()),
    )


# Chart geometry --------------------------------------------------------------------------
# Horizontal bars, one row per month (or application), in a viewBox 360 units wide: on a
# phone that is about one unit per CSS pixel, so 11-unit text stays legible; on a wide
# screen the stylesheet caps the chart's width.

WIDTH = 360
LEFT = 56  # the month labels, at least: wider when a language writes longer ones
LABEL_GAP = 6
RIGHT = 88  # the totals after each bar
TOP = 6
AXIS = 44  # tick labels and the axis title


def nice_ticks(largest: Decimal) -> list[Decimal]:
    """0 and 3 to 5 round steps (1, 2, 2.5 or 5 times a power of ten) up to at least
    `largest`."""
    if largest <= 0:
        return [Decimal(0), Decimal(1)]
    rough = largest / 4
    power = Decimal(1).scaleb(rough.adjusted())
    step = next(
        power * m
        for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if power * m >= rough
    )
    ticks = [Decimal(0)]
    while ticks[-1] < largest:
        ticks.append(ticks[-1] + step)
    return ticks


def tick_label(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _x(amount: Decimal, top: Decimal, span: float) -> float:
    return round(float(amount / top) * span, 2) if top else 0.0


@dataclass
class Bar:
    x: float
    width: float
    series: int
    title: str
    url: str


@dataclass
class Row:
    label: str
    y: float
    bars: list[Bar]
    total: str
    total_x: float
    total_url: str
    total_title: str

    @property
    def text_y(self) -> float:
        return self.y + 11

    @property
    def label_above_y(self) -> float:
        return self.y - 4


@dataclass
class Chart:
    id: str
    title: str
    axis_title: str
    height: float
    rows: list[Row]
    ticks: list[tuple[float, str]]
    left: int
    plot_width: int
    plot_bottom: float
    row_height: int
    bar_height: int
    label_above: bool
    series: list[tuple[str, int]]

    @property
    def tick_y(self) -> float:
        return self.plot_bottom + 14

    @property
    def axis_y(self) -> float:
        return self.height - 6

    @property
    def label_x(self) -> int:
        return self.left if self.label_above else self.left - LABEL_GAP


def _chart(
    *,
    id: str,
    title: str,
    axis_title: str,
    currency: str,
    rows: list[tuple[str, list[tuple[Decimal, int, str, str]], Decimal, str, str]],
    series: list[tuple[str, int]],
    label_above: bool = False,
) -> Chart:
    """rows: (label, [(amount, series, tooltip, url)], total, total url, total tooltip)."""
    widest = max((text_width(row[0]) for row in rows), default=0)
    left = 8 if label_above else max(LEFT, math.ceil(widest) + LABEL_GAP)
    plot_width = WIDTH - left - RIGHT
    row_height, bar_height = (34, 14) if label_above else (22, 14)
    ticks = nice_ticks(max((row[2] for row in rows), default=Decimal(0)))
    top = ticks[-1]
    chart_rows = []
    for index, (label, segments, total, total_url, total_title) in enumerate(rows):
        y = TOP + index * row_height + (16 if label_above else 4)
        x, bars, running = float(left), [], Decimal(0)
        for amount, number, tooltip, url in segments:
            start = left + _x(running, top, plot_width)
            running += amount
            end = left + _x(running, top, plot_width)
            bars.append(
                Bar(x=start, width=round(end - start, 2), series=number, title=tooltip, url=url)
            )
            x = end
        chart_rows.append(
            Row(
                label=label,
                y=y,
                bars=bars,
                total=format_money(total, currency),
                total_x=round(x + 4, 2),
                total_url=total_url,
                total_title=total_title,
            )
        )
    plot_bottom = TOP + len(rows) * row_height + 4
    return Chart(
        id=id,
        title=title,
        axis_title=axis_title,
        height=plot_bottom + AXIS,
        rows=chart_rows,
        ticks=[(left + _x(tick, top, plot_width), tick_label(tick)) for tick in ticks],
        left=left,
        plot_width=plot_width,
        plot_bottom=plot_bottom,
        row_height=row_height,
        bar_height=bar_height,
        label_above=label_above,
        series=series,
    )


def _amount(amount: Decimal, currency: str) -> str:
    return f"{format_money(amount, currency)} {currency}"


def consumption_chart(overview: CurrencyOverview) -> Chart:
    currency = overview.currency
    # Each month's label and each sentence translated once, not once per bar: the charts
    # are drawn at every view of the page, cached or not.
    segment_title = _("%(product)s, %(cycle)s: %(amount)s")
    total_title = _("%(cycle)s, all products: %(amount)s")
    rows = []
    for month in overview.months:
        label = cycle(month.month)
        segments = [
            (
                segment.amount,
                segment.series,
                segment_title
                % {
                    "product": segment.product,
                    "cycle": label,
                    "amount": _amount(segment.amount, currency),
                },
                segment.url,
            )
            for segment in month.segments
        ]
        title = total_title % {"cycle": label, "amount": _amount(month.total, currency)}
        rows.append((label, segments, month.total, month.url, title))
    return _chart(
        id=f"{overview.id}-consumption",
        title=_("Consumption per month by product (%(currency)s)") % {"currency": currency},
        axis_title=_("Consumption (%(currency)s)") % {"currency": currency},
        currency=currency,
        series=overview.products,
        rows=rows,
    )


def overdraft_chart(overview: CurrencyOverview) -> Chart:
    currency = overview.currency
    sentence = _("Overdraft, %(cycle)s: %(amount)s")
    rows = []
    for month in overview.months:
        label = cycle(month.month)
        title = sentence % {"cycle": label, "amount": _amount(month.overdraft, currency)}
        bars = [(month.overdraft, OVERDRAFT_SERIES, title, month.url)] if month.overdraft else []
        rows.append((label, bars, month.overdraft, month.url, title))
    return _chart(
        id=f"{overview.id}-overdraft",
        title=_("Overdraft per month (%(currency)s)") % {"currency": currency},
        axis_title=_("Overdraft (%(currency)s)") % {"currency": currency},
        currency=currency,
        series=[(_("Overdraft"), OVERDRAFT_SERIES)],
        rows=rows,
    )


def applications_chart(overview: CurrencyOverview) -> Chart:
    currency = overview.currency
    return _chart(
        id=f"{overview.id}-applications",
        title=_("Top %(count)s applications by consumption (%(currency)s)")
        % {"count": TOP_APPLICATIONS, "currency": currency},
        axis_title=_("Consumption (%(currency)s)") % {"currency": currency},
        currency=currency,
        series=[(_("Consumption"), 0)],
        label_above=True,
        rows=[
            (
                f"{_shorten(row.name)} · {row.share}%",
                [
                    (
                        row.amount,
                        0,
                        _("%(application)s: %(amount)s, %(share)s%%")
                        % {
                            "application": row.name,
                            "amount": _amount(row.amount, currency),
                            "share": row.share,
                        },
                        row.url,
                    )
                ],
                row.amount,
                row.url,
                _("%(application)s (%(app_key)s): %(amount)s, %(share)s%% of the consumption")
                % {
                    "application": row.name,
                    "app_key": row.app_key,
                    "amount": _amount(row.amount, currency),
                    "share": row.share,
                },
            )
            for row in overview.applications
        ],
    )


def patterns() -> list[dict]:
    """The fills of SERIES_STYLES, for the charts' <pattern> definitions."""
    return [
        {"index": index, "colour": colour, "kind": kind}
        for index, (colour, kind) in enumerate(SERIES_STYLES)
    ]


def text_width(text: str) -> float:
    """About how many units `text` takes at the charts' largest font (12.5, on a phone:
    console.css): a Chinese character a full em, a digit or Latin letter about half."""
    return sum(12.5 if unicodedata.east_asian_width(char) in "WF" else 7 for char in text)


def _shorten(name: str, width: float = 288) -> str:
    """An application's name as a chart label fits (the tooltip and the table hold all)."""
    if text_width(name) <= width:
        return name
    while text_width(name) > width - 7:  # room for the ellipsis
        name = name[:-1]
    return name.rstrip() + "…"


# The Bills page's sparkline --------------------------------------------------------------

SPARK_MONTHS = 12
SPARK_WIDTH, SPARK_HEIGHT = 180, 36


# Cached with the Bills page's totals, for every language: figures only, their words
# written when the page is (the properties).


@dataclass
class SparkBar:
    x: float
    y: float
    width: float
    height: float
    month: dt.date
    amount: Decimal
    currency: str

    @property
    def title(self) -> str:
        return _("%(cycle)s: %(amount)s") % {
            "cycle": cycle(self.month),
            "amount": _amount(self.amount, self.currency),
        }


@dataclass
class Sparkline:
    start: dt.date
    end: dt.date
    bars: list[SparkBar]
    peak: dt.date
    peak_amount: Decimal
    currency: str

    @property
    def label(self) -> str:
        return _(
            "Consumption per month from %(start)s to %(end)s, highest in %(peak)s: %(amount)s"
        ) % {
            "start": cycle(self.start),
            "end": cycle(self.end),
            "peak": cycle(self.peak),
            "amount": _amount(self.peak_amount, self.currency),
        }


def consumption_sparkline(
    months_with_bills: Sequence[tuple[dt.date, Decimal]], currency: str
) -> Sparkline | None:
    """Consumption per month of the latest SPARK_MONTHS months that hold bills, for the
    Bills page, from its totals' `BillSummary.months` (newest first): no query of its
    own. Labelled in the organization's currency, like the page's totals."""
    latest = months_with_bills[:SPARK_MONTHS]
    if not latest:
        return None
    totals = dict(latest)
    end = latest[0][0]
    start = max(latest[-1][0], _months_back(end, SPARK_MONTHS - 1))
    months = []
    month = start
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    highest = max(totals.values())
    slot = SPARK_WIDTH / len(months)
    bars = []
    for index, month in enumerate(months):
        amount = totals.get(month, Decimal(0))
        height = max(round(float(amount / highest) * (SPARK_HEIGHT - 2), 2), 1) if highest else 1
        bars.append(
            SparkBar(
                x=round(index * slot + 1, 2),
                y=round(SPARK_HEIGHT - height, 2),
                width=round(slot - 2, 2),
                height=height,
                month=month,
                amount=amount,
                currency=currency,
            )
        )
    peak = max(months, key=lambda month: totals.get(month, Decimal(0)))
    return Sparkline(
        start=start, end=end, bars=bars, peak=peak, peak_amount=totals[peak], currency=currency
    )


def _months_back(month: dt.date, months: int) -> dt.date:
    """`months` before `month`, or January of year 1."""
    index = month.year * 12 + month.month - 1 - months
    return add_months(month, -months) if index >= 12 else dt.date(1, 1, 1)
