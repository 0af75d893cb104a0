"""A bill's own page: every field, its lines, the payer snapshot, what overdraft means,
and a 404 for another organization's bill that looks exactly like a missing one."""

from __future__ import annotations

from decimal import Decimal

import lxml.html

from bills.services import LineItem, bill_clear

SMS_LINES = [
    LineItem("SMS to United States", 73_333, "messages", Decimal("0.0079")),
    LineItem("SMS to Germany", 7_600, "messages", Decimal("0.075")),
    LineItem("SMS to Brazil", 100, "messages", Decimal("10.00")),
]


def parse(response):
    tree = lxml.html.fromstring(response.content.decode())
    for br in tree.iter("br"):  # a line break reads as a space, as on screen
        br.tail = " " + (br.tail or "")
    return tree


def facts(response) -> dict[str, str]:
    """Every <dt>/<dd> pair on the page."""
    tree = parse(response)
    return {
        " ".join(dt.text_content().split()): " ".join(dt.getnext().text_content().split())
        for dt in tree.xpath("//dl[@class='facts']/dt")
    }


def line_rows(response) -> list[list[str]]:
    tree = parse(response)
    return [
        [" ".join(td.text_content().split()) for td in row.xpath("./td")]
        for row in tree.xpath("//table[contains(@class, 'lines-table')]/tbody/tr")
    ]


def text(response) -> str:
    return " ".join(parse(response).text_content().split())


def test_it_shows_every_field_of_the_bill(member_client, make_bill, whatsapp_application):
    bill = make_bill(
        whatsapp_application,
        cycle="2026-10",
        product="whatsapp",
        lines=[LineItem("Marketing conversations", 1_000, "conversations", Decimal("0.025"))],
    )
    bill_clear(bill=bill)

    response = member_client.get(f"/bills/{bill.pk}/")

    assert response.status_code == 200
    assert facts(response) == {
        "Bill number": bill.number,
        "Bill date": "2026-11-03",
        "Billing cycle": "2026-10",
        "Product": "WhatsApp Business",
        "Organization": "Acme Messaging",
        "Application": "Acme Support",
        "Application ID": "100002",
        "AppKey": "acmekey0002",
        "WhatsApp Business Account": "104857600123456",
        "Payment status": f"Cleared on {bill.cleared_at:%Y-%m-%d}",
        "Service usage": "1,000 conversations",
        "Consumption amount": "25.00 USD",
        "Overdraft amount": "0.00 USD",
        "Amount due": "0.00 USD",
        "Currency": "USD",
        "Legal name": "Acme Ltd.",
        "Tax ID": "TAX-ACME",
        "Address": "1 Main Street Springfield",
        "Country": "US",
        "Billing email": "billing@acme.example",
    }
    assert f"Bill {bill.number} Cleared" in text(response)


def test_its_lines_read_quantity_times_unit_price_equals_amount(
    member_client, make_bill, application
):
    bill = make_bill(application, product="sms", lines=SMS_LINES)

    response = member_client.get(f"/bills/{bill.pk}/")

    assert line_rows(response) == [
        ["SMS to United States", "73,333 messages", "× 0.0079 USD", "= 579.33 USD"],
        ["SMS to Germany", "7,600 messages", "× 0.075 USD", "= 570.00 USD"],
        ["SMS to Brazil", "100 messages", "× 10.00 USD", "= 1,000.00 USD"],
    ]
    assert "Consumption amount 2,149.33 USD" in text(response)


def test_the_payer_tax_information_is_the_snapshot_taken_at_issue(
    member_client, make_bill, application, organization
):
    bill = make_bill(application)
    organization.legal_name = "Acme Renamed GmbH"
    organization.tax_id = "DE999"
    organization.save()

    shown = facts(member_client.get(f"/bills/{bill.pk}/"))

    assert shown["Legal name"] == "Acme Ltd."
    assert shown["Tax ID"] == "TAX-ACME"
    assert "As it was when the bill was issued." in text(member_client.get(f"/bills/{bill.pk}/"))


def test_it_explains_an_overdraft(member_client, make_bill, application):
    bill = make_bill(application, overdraft="20.00")

    page = text(member_client.get(f"/bills/{bill.pk}/"))

    assert (
        "Your prepaid balance covered 130.00 USD of this bill. The overdraft of 20.00 USD is "
        "the part it did not cover; it is settled by a Supplementary Payment order."
    ) in page


def test_it_says_when_there_is_no_overdraft(member_client, bill):
    page = text(member_client.get(f"/bills/{bill.pk}/"))

    assert "Your prepaid balance covered this bill in full, so it has no overdraft." in page


def test_another_organizations_bill_looks_exactly_like_a_missing_one(
    member_client, make_bill, other_application
):
    theirs = make_bill(other_application)

    response = member_client.get(f"/bills/{theirs.pk}/")
    missing = member_client.get(f"/bills/{theirs.pk + 1000}/")

    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert "Globex" not in response.content.decode()


def test_it_links_back_to_the_list(member_client, bill):
    tree = lxml.html.fromstring(member_client.get(f"/bills/{bill.pk}/").content.decode())

    assert tree.xpath("//nav[@class='breadcrumb']/a/@href") == ["/bills/"]
