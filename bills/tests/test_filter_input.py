"""What people (and scanners) put in the Bills and Orders query strings: ids beyond
what a database column holds. Each is answered next to its field with nothing
selected; never a 500, never a guess."""

from __future__ import annotations

import lxml.html
import pytest

from bills.models import AuditEvent
from bills.tests.html import bill_rows, errors

HUGE_IDS = [str(2**63), str(2**64), "9" * 30, str(-(2**63) - 1)]


@pytest.fixture
def bills(make_bill, application, whatsapp_application, other_application) -> None:
    make_bill(application, cycle="2026-09", product="app_push")
    make_bill(application, cycle="2026-10", product="sms")
    make_bill(whatsapp_application, cycle="2026-10", product="email")
    make_bill(other_application, cycle="2026-10", product="otp")


def flashed(client, response) -> str:
    """The message the Bills page shows after an export was refused."""
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    (message,) = lxml.html.fromstring(page).xpath("//li[contains(@class, 'message')]")
    return " ".join(message.text_content().split())


# Ids beyond the id column (item 8) --------------------------------------------------------


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_product_id_is_an_unknown_product(member_client, bills, huge):
    response = member_client.get("/bills/", {"product": huge})

    assert response.status_code == 200
    assert errors(response) == [f"There is no product {huge} among yours."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_id_among_real_products_is_refused_too(member_client, bills, products, huge):
    response = member_client.get("/bills/", {"product": [products["sms"].pk, huge]})

    assert errors(response) == [f"There is no product {huge} among yours."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_application_id_is_an_unknown_application(member_client, bills, huge):
    response = member_client.get("/bills/", {"application": huge})

    assert response.status_code == 200
    assert errors(response) == ["That is not one of your applications."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("product", f"Product: There is no product {2**63} among yours."),
        ("application", "Application: That is not one of your applications."),
    ],
)
def test_a_huge_id_exports_nothing(member_client, bills, file_format, name, message):
    response = member_client.get(f"/bills/export.{file_format}", {name: str(2**63)})

    assert flashed(member_client, response) == f"Nothing was exported. {message}"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT).exists()


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_product_id_in_order_management_is_an_invalid_choice(
    member_client, organization, huge
):
    response = member_client.get("/orders/", {"product": huge})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
