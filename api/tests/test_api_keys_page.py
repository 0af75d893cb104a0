"""The API keys page (issue 16): owners make keys, see each secret once, and revoke them."""

from __future__ import annotations

import lxml.html
from django.test import Client

from api.models import ApiKey
from bills.models import AuditEvent


def text(response) -> str:
    return " ".join(lxml.html.fromstring(response.content).text_content().split())


def test_an_owner_creates_a_key_and_sees_its_secret_once(owner_client):
    response = owner_client.post("/api-keys/create/", {"name": "Month-end script"})

    assert response.status_code == 200
    tree = lxml.html.fromstring(response.content)
    secret = tree.xpath("string(//input[@id='api-key-secret']/@value)")
    key = ApiKey.objects.get()
    assert secret.startswith(f"bc_{key.prefix}_")
    assert "shown only this once" in text(response)
    # The script can use it at once...
    script = Client(headers={"authorization": f"Bearer {secret}"})
    assert script.get("/api/v1/products/").status_code == 200
    # ...and no page shows it again.
    again = owner_client.get("/api-keys/")
    assert secret not in again.content.decode()
    assert f"bc_{key.prefix}" in text(again)
    assert "Month-end script" in text(again)


def test_the_list_shows_who_made_each_key_and_when_it_was_last_used(
    owner_client, api_key, api_client
):
    page = text(owner_client.get("/api-keys/"))
    assert "alice" in page and "Never" in page

    api_client.get("/api/v1/bills/")

    assert "Never" not in text(owner_client.get("/api-keys/"))


def test_a_key_needs_a_name(owner_client):
    response = owner_client.post("/api-keys/create/", {"name": ""})

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not ApiKey.objects.exists()


def test_an_owner_revokes_a_key_and_scripts_are_refused(owner_client, api_key, api_client):
    key, _secret = api_key

    response = owner_client.post(f"/api-keys/{key.pk}/revoke/", follow=True)

    assert "The key “Month-end script” is revoked." in text(response)
    assert "Revoked" in text(response)
    assert api_client.get("/api/v1/bills/").status_code == 401
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_REVOKED)
    assert event.ip_address == "127.0.0.1"


def test_revoking_needs_the_forms_csrf_token(organization, member, api_key):
    key, _secret = api_key
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    assert browser.post(f"/api-keys/{key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.get().revoked_at is None


def test_another_organizations_key_cannot_be_revoked(client, outsider, api_key):
    key, _secret = api_key
    client.force_login(outsider)

    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get().revoked_at is None
    assert "Month-end script" not in text(client.get("/api-keys/"))


def test_finance_sees_neither_the_page_nor_its_link(finance_client):
    assert finance_client.get("/api-keys/").status_code == 403
    assert "API keys" not in text(finance_client.get("/bills/"))


def test_the_page_reads_in_chinese(organization, member, api_key):
    browser = Client(headers={"accept-language": "zh-CN"})
    browser.force_login(member)

    page = text(browser.get("/api-keys/"))

    assert "API 密钥" in page and "撤销" in page
