from __future__ import annotations

import pytest

from bills.tests.fixtures import PASSWORD

CONSOLE_PAGES = ["/bills/", "/bills/1/", "/market/", "/orders/"]


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_it_logs_a_member_in_and_shows_the_console(client, member, bill):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/bills/"
    assert "Orders &amp; Bills" in page
    for link in ("Product Market", "Order Management", "Bills to be paid"):
        assert link in page
    assert bill.application.name in page


def test_it_explains_a_wrong_password(client, member):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_shows_the_pending_bills_badge(member_client, make_bill, application):
    from bills.services import bill_clear

    make_bill(application, cycle="2026-10")
    make_bill(application, cycle="2026-09")
    bill_clear(bill=make_bill(application, cycle="2026-08"))

    page = member_client.get("/bills/").content.decode()

    assert 'title="2 bills to be paid"' in page


def test_logout_ends_the_session(member_client):
    assert member_client.post("/logout/").status_code == 302

    assert member_client.get("/bills/").status_code == 302
