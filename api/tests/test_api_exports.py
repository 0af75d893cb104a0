"""Exports through the API (issue 16): a script asks for an export of the bills a filter
selects, follows its progress, and downloads the file: the same background job, limits,
files and audit trail as the Exports page, marked as made with the key.

The job runs in the test's process (`run_export.call`), as in exports/tests/test_exports.py;
exports/tests/test_worker.py shows the same job run by a real `manage.py db_worker`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import lxml.html
import openpyxl
import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.services import api_key_revoke
from bills.filters import BillFilter
from bills.models import AuditEvent
from bills.services import bill_clear
from exports.models import Export
from exports.tasks import run_export
from exports.tests.test_worker import run_worker


@pytest.fixture
def bills(make_bill, application, whatsapp_application):
    """Five App Push bills 2026-06 to 2026-10 (the two oldest Cleared), and one SMS bill."""
    made = [make_bill(application, cycle=f"2026-{month:02d}") for month in range(6, 11)]
    for bill in made[:2]:
        bill_clear(bill=bill)
    made.append(make_bill(whatsapp_application, cycle="2026-10", product="sms"))
    return made


def ask(client: Client, body, **headers):
    return client.post(
        "/api/v1/exports/", json.dumps(body), content_type="application/json", headers=headers
    )


def run(export_id: str) -> None:
    run_export.call(export_id)


def download(client: Client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    return response, b"".join(response.streaming_content)


def test_a_script_asks_for_a_csv_follows_it_and_downloads_exactly_the_selected_bills(
    api_client, api_key, bills
):
    key, _secret = api_key
    asked = ask(api_client, {"format": "csv", "filters": {"status": "pending"}})

    assert asked.status_code == 202
    export = asked.json()
    assert asked["Location"] == export["url"] == f"http://testserver/api/v1/exports/{export['id']}/"
    assert export["status"] == "queued"
    assert export["total"] == 4 and export["done"] == 0
    assert export["filters"] == {"status": ["pending"]}
    assert export["description"] == "Status: Pending"
    assert export["requested_by"] == "Month-end script"
    assert export["api_key"] == key.prefix
    assert export["file_url"] is None

    run(export["id"])
    ready = api_client.get(export["url"]).json()
    assert ready["status"] == "ready" and ready["done"] == 4 and ready["expired"] is False
    assert ready["file_url"] == export["url"] + "file/"
    assert ready["size"] > 0

    response, body = download(api_client, ready["file_url"])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="bills-acme-')
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    pending = sorted(bill.number for bill in bills if bill.status == "pending")
    assert sorted(row["Bill Number"] for row in rows if row["Bill Number"]) == pending
    assert len(body) == ready["size"]


def test_an_export_asked_for_and_downloaded_with_a_key_is_audited_as_the_keys(
    api_client, api_key, bills
):
    key, _secret = api_key
    export = ask(api_client, {"format": "xlsx", "filters": {"cycle": "2026-10"}}).json()
    run(export["id"])
    download(api_client, export["url"] + "file/")

    events = AuditEvent.objects.filter(
        action__in=[AuditEvent.Action.EXPORT_REQUESTED, AuditEvent.Action.EXPORT_DOWNLOAD]
    ).order_by("id")
    assert [event.action for event in events] == ["export_requested", "export_download"]
    for event in events:
        assert event.actor is None
        assert event.actor_username == f"API key {key.prefix}"
        assert event.details["api_key"] == {"id": key.pk, "prefix": key.prefix, "name": key.name}
        assert event.object_id == export["id"]
    assert events[0].details["filters"] == {"cycle": "2026-10"}
    assert events[0].details["rows"] == 2


def test_the_xlsx_and_the_zip_are_the_exports_pages_files(api_client, bills):
    xlsx = ask(api_client, {"format": "xlsx", "filters": {"product": []}}).json()
    zipped = ask(api_client, {"format": "zip", "filters": {"status": "cleared"}}).json()
    run(xlsx["id"])
    run(zipped["id"])

    response, body = download(api_client, xlsx["url"] + "file/")
    assert response["Content-Type"] == Export.CONTENT_TYPES["xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    numbers = [row[0] for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert numbers[0] == "Bill Number"
    assert sorted(n for n in numbers if n.startswith("BILL-")) == sorted(b.number for b in bills)

    response, body = download(api_client, zipped["url"] + "file/")
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert sorted(name for name in names if name.endswith(".pdf")) == sorted(
        f"{bill.number}.pdf" for bill in bills if bill.status == "cleared"
    )


def test_a_bad_filter_or_format_is_a_400_and_nothing_is_queued(api_client, bills):
    bad_month = ask(api_client, {"format": "csv", "filters": {"cycle": "2026-13"}})
    assert bad_month.status_code == 400
    assert list(bad_month.json()) == ["filters"]
    assert list(bad_month.json()["filters"]) == ["cycle"]

    # A misspelt filter would otherwise export every bill.
    typo = ask(api_client, {"format": "csv", "filters": {"cylce": "2026-10"}})
    assert typo.status_code == 400
    assert "No such filter" in typo.json()["filters"]["cylce"][0]

    not_text = ask(api_client, {"format": "csv", "filters": {"cycle": 202610}})
    assert not_text.status_code == 400

    pdf = ask(api_client, {"format": "pdf"})
    assert pdf.status_code == 400 and list(pdf.json()) == ["format"]

    broken = api_client.post("/api/v1/exports/", "{", content_type="application/json")
    assert broken.status_code == 400 and "detail" in broken.json()

    form = api_client.post("/api/v1/exports/", {"format": "csv"})
    assert form.status_code == 415

    assert not Export.objects.exists()


def test_no_filter_exports_every_bill(api_client, bills):
    export = ask(api_client, {"format": "csv"}).json()

    assert export["total"] == len(bills)
    assert export["filters"] == {}
    assert export["description"] == "all bills"


def test_asking_twice_gives_the_same_export_and_a_limit_holds_per_key(
    api_client, bills, organization, member, settings
):
    settings.EXPORTS_ACTIVE_PER_USER = 2
    first = ask(api_client, {"format": "csv", "filters": {"cycle": "2026-10"}})
    again = ask(api_client, {"format": "csv", "filters": {"cycle": ["2026-10"]}})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]

    assert ask(api_client, {"format": "csv", "filters": {"cycle": "2026-09"}}).status_code == 202
    third = ask(api_client, {"format": "csv", "filters": {"cycle": "2026-08"}})
    assert third.status_code == 409
    assert third.json() == {
        "detail": "2 exports are already queued or running; wait for one to finish, then ask again."
    }

    # The member's own exports are counted apart from the script's.
    browser = Client()
    browser.force_login(member)
    assert ask(browser, {"format": "csv", "filters": {"cycle": "2026-08"}}).status_code == 202


def test_what_one_file_cannot_hold_is_a_422(api_client, bills, monkeypatch, settings):
    settings.EXPORT_ZIP_MAX_BILLS = 3
    too_many = ask(api_client, {"format": "zip"})
    assert too_many.status_code == 422
    assert too_many.json()["detail"].startswith(
        "Nothing was queued. This filter selects 6 bills; one ZIP holds at most 3."
    )

    nothing = ask(api_client, {"format": "zip", "filters": {"cycle": "2020-01"}})
    assert nothing.status_code == 422
    assert nothing.json() == {"detail": "Nothing was queued: this filter selects no bills."}

    monkeypatch.setattr("bills.excel.MAX_XLSX_BILLS", 5)
    sheet = ask(api_client, {"format": "xlsx"})
    assert sheet.status_code == 422
    assert "an Excel sheet holds at most 5 bills" in sheet.json()["detail"]
    assert not Export.objects.exists()


def test_a_head_request_is_refused_rather_than_audited_as_a_download(api_client, bills):
    export = ask(api_client, {"format": "csv"}).json()
    run(export["id"])

    assert api_client.head(export["url"] + "file/").status_code == 405
    assert api_client.head(f"/api/v1/bills/{bills[0].pk}/pdf/").status_code == 405
    assert not AuditEvent.objects.filter(
        action__in=[AuditEvent.Action.EXPORT_DOWNLOAD, AuditEvent.Action.BILL_DOWNLOAD]
    ).exists()


def test_a_file_not_ready_is_a_409_and_an_expired_one_a_410(api_client, bills):
    export = ask(api_client, {"format": "csv"}).json()
    file_url = export["url"] + "file/"

    assert api_client.get(file_url).status_code == 409
    run(export["id"])
    Export.objects.filter(pk=export["id"]).update(expires_at=timezone.now() - dt.timedelta(1))

    gone = api_client.get(file_url)
    assert gone.status_code == 410
    assert gone.json() == {"detail": "That export has expired; export again."}
    status = api_client.get(export["url"]).json()
    assert status["expired"] is True and status["file_url"] is None


def test_a_failure_reads_in_the_scripts_language(api_client, bills):
    export = ask(api_client, {"format": "csv"}).json()
    Export.objects.filter(pk=export["id"]).update(
        status=Export.Status.RUNNING,
        progress_at=timezone.now() - dt.timedelta(hours=1),
    )

    english = api_client.get(export["url"]).json()
    chinese = api_client.get(export["url"], headers={"accept-language": "zh-hans"}).json()

    assert english["status"] == "failed"
    assert english["error"].startswith("The export stopped: the worker making it ended")
    assert chinese["error"].startswith("导出已中止")


def test_a_chinese_script_gets_a_chinese_file(api_client, bills):
    export = ask(api_client, {"format": "csv"}, **{"accept-language": "zh-hans"}).json()
    run(export["id"])

    _response, body = download(api_client, export["url"] + "file/")
    assert body.decode("utf-8-sig").startswith('"账单编号","账单周期"')


def test_another_organizations_export_is_a_404(
    api_client, bills, other_organization, outsider, other_application, make_bill
):
    make_bill(other_application)
    theirs = Client()
    theirs.force_login(outsider)
    their_export = ask(theirs, {"format": "csv"}).json()
    run(their_export["id"])

    assert api_client.get(f"/api/v1/exports/{their_export['id']}/").status_code == 404
    assert api_client.get(f"/api/v1/exports/{their_export['id']}/file/").status_code == 404
    assert api_client.get("/api/v1/exports/").json()["results"] == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_DOWNLOAD).exists()


def test_the_list_shows_the_organizations_exports_newest_first(api_client, member, bills):
    browser = Client()
    browser.force_login(member)
    mine = ask(browser, {"format": "csv", "filters": {"cycle": "2026-09"}}).json()
    scripts = ask(api_client, {"format": "xlsx"}).json()

    listed = api_client.get("/api/v1/exports/").json()

    assert listed["count"] == 2
    assert [export["id"] for export in listed["results"]] == [scripts["id"], mine["id"]]
    assert [export["requested_by"] for export in listed["results"]] == [
        "Month-end script",
        "alice",
    ]
    assert listed["results"][1]["api_key"] is None


def test_the_exports_page_says_a_key_asked(api_client, member_client, bills):
    run(ask(api_client, {"format": "csv", "filters": {"cycle": "2026-09"}}).json()["id"])

    page = lxml.html.fromstring(member_client.get("/exports/").content)
    requested = " ".join(page.xpath("string(//td[@class='export-requested'])").split())
    assert requested.endswith("by the API key “Month-end script”")
    status = " ".join(page.xpath("string(//td[contains(@class, 'export-status')])").split())
    assert status.startswith("Ready 1 row · ")


def test_a_revoked_key_downloads_nothing(api_client, api_key, member, bills):
    key, _secret = api_key
    export = ask(api_client, {"format": "csv"}).json()
    run(export["id"])

    api_key_revoke(key=key, revoked_by=member)

    assert api_client.get(export["url"] + "file/").status_code == 401
    assert ask(api_client, {"format": "csv"}).status_code == 401


def test_a_viewer_may_not_export_through_the_api(viewer_client, bills):
    assert ask(viewer_client, {"format": "csv"}).status_code == 403
    assert not Export.objects.exists()


FILTER_NAMES = list(BillFilter.base_filters)
filter_values = st.one_of(
    st.sampled_from(["2026-10", "2026-06", "2026-13", "pending", "cleared", "1", "-1", ""]),
    st.text(max_size=12),
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    filters=st.dictionaries(
        st.sampled_from(FILTER_NAMES),
        st.one_of(filter_values, st.lists(filter_values, max_size=3)),
        max_size=3,
    )
)
def test_an_export_holds_what_the_bills_list_selects_or_is_refused_like_it(
    api_client, bills, filters, settings
):
    settings.EXPORTS_ACTIVE_PER_USER = 10_000
    asked = ask(api_client, {"format": "csv", "filters": filters})
    listed = api_client.get("/api/v1/bills/", filters)

    if listed.status_code == 400:
        assert asked.status_code == 400
        assert asked.json()["filters"] == listed.json()
    else:
        assert asked.status_code in (200, 202)
        assert asked.json()["total"] == listed.json()["count"]


@pytest.mark.django_db(transaction=True)
def test_a_scripts_export_runs_through_a_real_worker(api_client, bills, export_storage):
    export = ask(api_client, {"format": "csv", "filters": {"cycle_from": "2026-08"}}).json()
    assert api_client.get(export["url"]).json()["status"] == "queued"

    run_worker(export_storage)

    ready = api_client.get(export["url"]).json()
    assert ready["status"] == "ready", ready["error"]
    _response, body = download(api_client, ready["file_url"])
    numbers = [row[0] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
    assert sorted(numbers) == sorted(bill.number for bill in bills[2:])
