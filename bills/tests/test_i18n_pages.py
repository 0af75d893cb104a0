"""Simplified Chinese, part 2 (issue 15): the Bills table's rows, the Overview and the
sparkline read in Chinese, cycles and amounts in its formats, customers' names still text,
and the figures cached for every language never carry one language's words to another."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest
from django.test import Client

from bills.models import Application
from bills.overview import LABEL_GAP, text_width
from bills.tests.test_i18n import (  # noqa: F401 (compiled_catalogue: a fixture)
    ALLOWED_WORDS,
    chinese_client,
    compiled_catalogue,
    data_words,
    english_words,
)
from bills.tests.test_overview import bar_titles, bulk, table_rows, text, tree

pytestmark = pytest.mark.usefixtures("compiled_catalogue")
SEPTEMBER_TO_OCTOBER = "/overview/?cycle_from=2026-09&cycle_to=2026-10"


def english_client(user) -> Client:
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


@pytest.fixture
def two_months(application, products):
    """SMS in September and October 2026, Email in October, with an overdraft, and the
    two months before them, so that the Overview compares."""
    bulk(application, products["sms"], [dt.date(2026, 7, 1), dt.date(2026, 9, 1)], "10.00")
    bulk(application, products["sms"], [dt.date(2026, 10, 1)], "1234.50", overdraft="34.50")
    bulk(application, products["email"], [dt.date(2026, 10, 1)], "5.00")


def test_the_overview_reads_in_chinese(member, two_months):
    response = chinese_client(member).get(SEPTEMBER_TO_OCTOBER)

    page = response.content.decode()
    assert english_words(response.content, ALLOWED_WORDS | data_words()) == []
    assert "<title>概览" in page and "账单周期 2026年9月 至 2026年10月" in page
    assert bar_titles(response, "consumption") == [
        "SMS，2026年9月：10.00 USD",
        "Email，2026年10月：5.00 USD",
        "SMS，2026年10月：1,234.50 USD",
    ]
    assert bar_titles(response, "overdraft") == ["2026年10月 透支金额：34.50 USD"]
    axis = tree(response).xpath("//*[local-name()='text'][@class='chart-axis-title']")
    assert [text(title) for title in axis] == [
        "消费金额（USD） →",
        "透支金额（USD） →",
        "消费金额（USD） →",
    ]
    assert table_rows(response, "每月透支金额（USD）") == [
        ["账单周期", "透支金额"],
        ["2026年9月", "0.00"],
        ["2026年10月", "34.50"],
        ["合计", "34.50"],
    ]
    assert table_rows(
        response, "各产品消费金额：2026年9月 至 2026年10月 与 2026年7月 至 2026年8月"
    )[1:] == [
        ["Email", "5.00", "0.00", "+5.00 新增"],
        ["SMS", "1,244.50", "10.00", "+1,234.50 +12345.0%"],
    ]


def test_the_overview_stays_in_english_for_an_english_reader(member, two_months):
    response = english_client(member).get(SEPTEMBER_TO_OCTOBER)

    assert bar_titles(response, "overdraft") == ["Overdraft, 2026-10: 34.50 USD"]
    assert "billing cycles 2026-09 to 2026-10" in response.content.decode()


def test_the_overviews_empty_state_and_invalid_filter_read_in_chinese(member, two_months):
    browser = chinese_client(member)

    empty = browser.get("/overview/?cycle_from=2025-01&cycle_to=2025-02")
    invalid = browser.get("/overview/?cycle_from=2026-10&cycle_to=2026-01")

    assert "2025年1月 至 2025年2月 没有符合筛选条件的账单" in empty.content.decode()
    (wider,) = [a for a in tree(empty).xpath("//main//a") if text(a) == "从 2024年11月 起"]
    assert "cycle_from=2024-11" in wider.get("href")
    assert "未显示数据" in invalid.content.decode()
    assert "请修正下方标出的字段；修正之前不显示任何数据。" in text(tree(invalid))
    for response in (empty, invalid):
        assert english_words(response.content, ALLOWED_WORDS | data_words()) == []


@pytest.mark.parametrize("name", ["<script>alert('owned')</script>", "]]><svg onload=x>"])
def test_a_customers_application_name_stays_text_in_a_chinese_tooltip(
    member, organization, products, name
):
    application = Application.objects.create(
        organization=organization, name=name, app_key="evil0001", app_id="666"
    )
    bulk(application, products["sms"], [dt.date(2026, 9, 1)])

    response = chinese_client(member).get("/overview/?cycle=2026-09")

    page = response.content.decode()
    assert "<script>alert" not in page and "<svg onload" not in page
    assert tree(response).xpath("//script[not(@src)]") == []
    assert bar_titles(response, "applications") == [f"{name}：10.00 USD，占 100.0%"]
    totals = tree(response).xpath(
        "//*[local-name()='a'][@class='chart-total']/*[local-name()='title']"
    )
    assert text(totals[-1]) == " ".join(
        f"{name}（evil0001）：10.00 USD，占消费总额的 100.0%".split()
    )


def test_the_overviews_figures_are_cached_for_every_language(member, two_months):
    english, chinese = english_client(member), chinese_client(member)

    first = english.get(SEPTEMBER_TO_OCTOBER)
    second = chinese.get(SEPTEMBER_TO_OCTOBER)
    third = english.get(SEPTEMBER_TO_OCTOBER)

    assert bar_titles(first, "overdraft") == ["Overdraft, 2026-10: 34.50 USD"]
    assert bar_titles(second, "overdraft") == ["2026年10月 透支金额：34.50 USD"]
    assert bar_titles(third, "overdraft") == ["Overdraft, 2026-10: 34.50 USD"]


def sparkline(response):
    (svg,) = tree(response).xpath("//*[local-name()='svg'][@class='sparkline']")
    return svg.get("aria-label"), [text(t) for t in svg.xpath(".//*[local-name()='title']")]


def test_the_sparkline_is_cached_for_every_language(member, two_months):
    english, chinese = english_client(member), chinese_client(member)

    first, second = english.get("/bills/"), chinese.get("/bills/")
    third = english.get("/bills/")

    label, bars = sparkline(second)
    assert label == "2026年7月 至 2026年10月 每月消费金额，2026年10月 最高：1,239.50 USD"
    assert bars == [
        "2026年7月：10.00 USD",
        "2026年8月：0.00 USD",
        "2026年9月：10.00 USD",
        "2026年10月：1,239.50 USD",
    ]
    assert "每月消费金额，2026年7月 至 2026年10月" in text(tree(second))
    assert sparkline(first) == sparkline(third)
    assert sparkline(first)[0].startswith("Consumption per month from 2026-07 to 2026-10")


def test_a_credited_bill_row_reads_in_chinese(site, member):
    response = chinese_client(member).get("/bills/")

    (row,) = tree(response).xpath("//table[contains(@class, 'bill-table')]/tbody/tr")
    cells = {cell.get("data-label"): text(cell) for cell in row.xpath("./td")}
    number = site["bill"].number
    assert cells["账单周期"] == "2026年10月"
    assert cells["状态"] == "待支付"
    assert cells["透支金额"] == "0.00 USD 已冲减 10.00 · 应付 0.00"
    assert cells["操作"] == f"账单 {number} 的详情 下载账单 {number}"


@pytest.mark.parametrize(
    ("sort", "caption", "hint"),
    [
        ("", "账单，按账单周期从新到旧排列", "当前从大到小排序；点击改为从小到大"),
        ("cycle", "账单，按账单周期从旧到新排列", "当前从小到大排序；点击改为从大到小"),
        ("-amount", "账单，按消费金额从高到低排列", "点击按从大到小排序"),
        ("overdraft", "账单，按透支金额从低到高排列", "点击按从大到小排序"),
    ],
)
def test_a_screen_reader_hears_the_sort_in_chinese(member, bill, sort, caption, hint):
    response = chinese_client(member).get("/bills/", {"sort": sort} if sort else {})

    page = tree(response)
    assert text(page.xpath("//table[contains(@class, 'bill-table')]/caption")[0]) == caption
    cycle_header = page.xpath("//th[contains(@class, 'sortable')]")[0]
    assert text(cycle_header).startswith("账单周期") and text(cycle_header).endswith(f"({hint})")


def filter_markup(response) -> list[tuple[str, str | None, str]]:
    """The filter form's fields and labels, without what names the page it filters."""
    (form,) = tree(response).xpath("//form[contains(@class, 'bill-filters')]")
    fields = [(f.tag, f.get("name"), f.get("type") or "") for f in form.xpath(".//input|.//select")]
    labels = [text(label) for label in form.xpath(".//label|.//legend|.//button")]
    return fields + [("label", None, label) for label in labels]


def test_the_bills_page_and_the_overview_filter_with_the_same_form(member, two_months):
    browser = chinese_client(member)

    bills = browser.get("/bills/")
    overview = browser.get("/overview/")

    assert filter_markup(bills) == filter_markup(overview)
    forms = [
        tree(page).xpath("//form[contains(@class, 'bill-filters')]")[0]
        for page in (bills, overview)
    ]
    assert [(form.get("action"), form.get("aria-label")) for form in forms] == [
        ("/bills/", "筛选账单"),
        ("/overview/", "筛选概览"),
    ]
    assert [link.get("href") for form in forms for link in form.xpath(".//a[@class='button']")] == [
        "/bills/",
        "/overview/",
    ]


def test_chinese_month_labels_fit_left_of_the_bars(member, two_months):
    response = chinese_client(member).get(SEPTEMBER_TO_OCTOBER)

    (chart,) = tree(response).xpath(
        "//*[local-name()='svg'][contains(@aria-labelledby, '-consumption-title')]"
    )
    labels = chart.xpath(".//*[local-name()='text'][@class='chart-label']")
    assert [text(label) for label in labels] == ["2026年9月", "2026年10月"]
    for label in labels:
        # Anchored at its end: it starts its estimated width to the left of x.
        assert float(label.get("x")) - text_width(text(label)) >= 0
    bars = chart.xpath(".//*[local-name()='a'][@class='chart-bar']/*[local-name()='rect']")
    assert min(float(bar.get("x")) for bar in bars) == float(labels[0].get("x")) + LABEL_GAP


def test_a_long_chinese_application_name_is_shortened_to_fit(member, organization, products):
    name = "华东区域营销短信平台正式生产环境应用程序第二套备用通道配置" * 2
    application = Application.objects.create(
        organization=organization, name=name, app_key="cn0001", app_id="1"
    )
    bulk(application, products["sms"], [dt.date(2026, 9, 1)])

    response = chinese_client(member).get("/overview/?cycle=2026-09")

    labels = tree(response).xpath("//*[local-name()='text'][@class='chart-label']")
    shortened = text(labels[-1])
    assert shortened.endswith("… · 100.0%") and text_width(shortened) <= 360
    assert name in response.content.decode()  # the tooltip and the table hold all of it


def test_the_bills_rows_still_read_in_english(member_client, bill):
    html = lxml.html.fromstring(member_client.get("/bills/").content)

    (row,) = html.xpath("//table[contains(@class, 'bill-table')]/tbody/tr")
    assert row.xpath("./td")[2].get("data-label") == "Billing Cycle"
    assert text(row.xpath("./td")[2]) == "2026-10"
