"""Races over real HTTP: a uvicorn server on loopback, many requests at once, both databases.

The server runs in a thread of the test process (``tests.store.live``) with the fixture's
``FakeClock``: webhook timestamps are taken from that clock, so a delivery signed "now" is
exactly "now" to the server, a stale one is exactly 301 s old, and the events posted here
(dated the day before ``START``) are never "in the future". A real clock would make the
tolerance tests depend on the wall clock and the event dates on the day the suite runs.

Requests are sent together from an ``httpx.AsyncClient`` with one connection per request,
so the server's worker threads really do run the units of work side by side.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadflow.adapters.db.tables import EventRow, IdentityRow, LeadRow, StageChangeRow
from leadflow.entrypoints.bootstrap import App
from tests.factories import CAREGIVER
from tests.store.conftest import FakeClock, webhook_headers
from tests.store.live import serve

Call = dict[str, Any]  # keyword arguments of one ``httpx.AsyncClient.request``


@pytest.fixture
def base_url(app: App) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _send_together(base_url: str, calls: list[Call]) -> list[httpx.Response]:
    """Send every call at once (one connection each) and return the responses in order."""

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(client.request(**call) for call in calls))

    return asyncio.run(send_all())


def _count(app: App, table: type[Any]) -> int:
    with app.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _listed_ids(base_url: str) -> list[str]:
    page = httpx.get(f"{base_url}/v1/leads", params={"limit": 500}).json()
    assert page["next_cursor"] is None
    return [item["lead_id"] for item in page["items"]]


def _error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def _delivery(
    clock: FakeClock, msg_id: str, payload: dict[str, Any], *, age_s: int = 0
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = int(clock.now.timestamp()) - age_s
    headers = webhook_headers(msg_id, timestamp, body)
    return body, headers


FORM = {"lead": {"external_id": "form-4711", "first_name": "Robin", "service_line": "dermatology"}}


# -- Idempotency-Key ------------------------------------------------------------------------
def test_fifty_concurrent_posts_with_one_idempotency_key_create_exactly_one_lead(
    app: App, base_url: str
) -> None:
    lead = {"email": "idem@example.com", "first_name": "Ida", "state": "MA"}
    call = {
        "method": "POST",
        "url": "/v1/leads",
        "json": lead,
        "headers": {"Idempotency-Key": "k1"},
    }
    responses = _send_together(base_url, [call] * 50)

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    first = [
        r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    ]
    assert len(first) == 1, statuses
    stored = first[0].json()
    assert stored["created"] is True
    for response in responses:
        if response.status_code == 201:
            assert response.json() == stored
        else:
            assert _error_code(response) == "idempotency_key_in_use"
            assert response.headers["Retry-After"] == "1"
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replays) == statuses[201] - 1

    assert _listed_ids(base_url) == [stored["lead_id"]]
    assert _count(app, LeadRow) == 1

    again = httpx.post(f"{base_url}/v1/leads", json=lead, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == stored


def test_same_idempotency_key_with_a_different_body_is_422_and_changes_nothing(
    app: App, base_url: str
) -> None:
    headers = {"Idempotency-Key": "k2"}
    first = httpx.post(f"{base_url}/v1/leads", json={"email": "a@example.com"}, headers=headers)
    assert first.status_code == 201
    other = httpx.post(f"{base_url}/v1/leads", json={"email": "b@example.com"}, headers=headers)
    assert other.status_code == 422
    assert _error_code(other) == "idempotency_key_reused"
    assert other.json()["error"]["problems"][0]["field"] == "Idempotency-Key"
    assert _count(app, LeadRow) == 1


def test_concurrent_same_key_different_bodies_create_one_lead_and_the_rest_are_refused(
    app: App, base_url: str
) -> None:
    calls = [
        {
            "method": "POST",
            "url": "/v1/leads",
            "json": {"email": f"p{n}@example.com"},
            "headers": {"Idempotency-Key": "k3"},
        }
        for n in range(10)
    ]
    responses = _send_together(base_url, calls)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {201, 409, 422}, statuses
    for response in responses:
        if response.status_code != 201:
            assert _error_code(response) in {"idempotency_key_in_use", "idempotency_key_reused"}
    assert _count(app, LeadRow) == 1


# -- webhooks --------------------------------------------------------------------------------
def test_the_same_form_webhook_delivered_five_times_at_once_creates_one_lead(
    app: App, base_url: str, clock: FakeClock
) -> None:
    body, headers = _delivery(clock, "msg_same", FORM)
    call = {
        "method": "POST",
        "url": "/v1/webhooks/forms?wait=decision",
        "content": body,
        "headers": headers,
    }
    responses = _send_together(base_url, [call] * 5)

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    created = [r for r in responses if r.status_code == 201]
    assert all(r.json() == created[0].json() for r in created)
    assert [r.headers.get("Idempotent-Replayed") for r in created].count(None) == 1
    for response in responses:
        if response.status_code == 409:
            assert _error_code(response) == "delivery_in_progress"
    assert _count(app, LeadRow) == 1
    assert _listed_ids(base_url) == [created[0].json()["lead"]["lead_id"]]


def test_five_deliveries_of_one_form_with_different_ids_create_one_lead(
    app: App, base_url: str, clock: FakeClock
) -> None:
    calls = []
    for n in range(5):
        body, headers = _delivery(clock, f"msg_{n}", FORM)
        calls.append(
            {
                "method": "POST",
                "url": "/v1/webhooks/forms?wait=decision",
                "content": body,
                "headers": headers,
            }
        )
    responses = _send_together(base_url, calls)

    assert [r.status_code for r in responses].count(201) == 1, [r.text for r in responses]
    assert all(r.status_code in {200, 201} for r in responses), [r.text for r in responses]
    lead_ids = {r.json()["lead"]["lead_id"] for r in responses}
    assert len(lead_ids) == 1
    assert {r.json()["delivery_id"] for r in responses} == {f"msg_{n}" for n in range(5)}
    assert _count(app, LeadRow) == 1
    assert _listed_ids(base_url) == list(lead_ids)


def test_webhook_deliveries_that_fail_verification_are_refused_in_the_error_shape(
    app: App, base_url: str, clock: FakeClock
) -> None:
    url = f"{base_url}/v1/webhooks/forms?wait=decision"
    body, headers = _delivery(clock, "msg_ok", FORM)

    bad_signature = {**headers, "webhook-signature": "v1,AAAA" + headers["webhook-signature"][7:]}
    stale_body, stale = _delivery(clock, "msg_stale", FORM, age_s=301)
    future_body, future = _delivery(clock, "msg_future", FORM, age_s=-301)
    no_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    cases: list[tuple[str, bytes, dict[str, str], str]] = [
        ("bad signature", body, bad_signature, "webhook_bad_signature"),
        ("stale timestamp", stale_body, stale, "webhook_timestamp_too_old"),
        ("future timestamp", future_body, future, "webhook_timestamp_in_future"),
        ("missing id", body, no_id, "webhook_missing_id"),
        ("re-serialised body", reserialised, headers, "webhook_bad_signature"),
    ]
    for name, content, sent_headers, code in cases:
        response = httpx.post(url, content=content, headers=sent_headers)
        assert response.status_code == 401, (name, response.text)
        error = response.json()["error"]
        assert error["code"].startswith("webhook_"), name
        assert error["code"] == code, name
        assert set(error) == {"code", "message", "problems"}, name

    unknown = httpx.post(f"{base_url}/v1/webhooks/crm", content=body, headers=headers)
    assert unknown.status_code == 404
    assert _error_code(unknown) == "unknown_webhook_source"
    assert _count(app, LeadRow) == 0

    valid = httpx.post(url, content=body, headers=headers)
    assert valid.status_code == 201, valid.text
    assert _count(app, LeadRow) == 1


# -- identity matching and events under races ----------------------------------------------------
def test_twenty_concurrent_posts_of_one_email_without_keys_are_one_lead(
    app: App, base_url: str
) -> None:
    rounds = 5  # the race is timing-dependent: several rounds make a lost race likely
    for round_ in range(rounds):
        calls = [
            {
                "method": "POST",
                "url": "/v1/leads",
                "json": {"email": f"Race{round_}@Example.com", "notes": f"form {n}"},
            }
            for n in range(20)
        ]
        responses = _send_together(base_url, calls)

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 200: 19}, (round_, statuses, [r.text for r in responses])
        lead_ids = {r.json()["lead_id"] for r in responses}
        assert len(lead_ids) == 1
        assert all(r.json()["merged_leads"] == [] for r in responses)
    assert _count(app, LeadRow) == rounds
    assert _count(app, IdentityRow) == rounds
    assert len(_listed_ids(base_url)) == rounds


def test_thirty_concurrent_events_of_one_lead_are_all_stored_and_all_counted(
    app: App, base_url: str
) -> None:
    created = httpx.post(f"{base_url}/v1/leads", json=CAREGIVER)
    assert created.status_code == 201, created.text
    lead_id = CAREGIVER["lead_id"]
    scheduling = [f"sched-{n}" for n in range(10)]
    browsing = [f"blog-{n}" for n in range(20)]
    calls = []
    for n, event_id in enumerate(scheduling + browsing):
        page = "schedule/dermatology" if event_id.startswith("sched") else f"blog/post-{n}"
        event = {
            "event_id": event_id,
            "lead_id": lead_id,
            "type": "page_viewed",
            "occurred_at": f"2026-03-05T10:{n:02d}:00Z",
            "properties": {"url": f"https://northwind.example/{page}"},
        }
        calls.append({"method": "POST", "url": "/v1/events?wait=decision", "json": event})
    responses = _send_together(base_url, calls)

    assert [r.status_code for r in responses] == [201] * 30, [r.text for r in responses]
    assert _count(app, EventRow) == 30
    lead = httpx.get(f"{base_url}/v1/leads/{lead_id}").json()
    assert sorted(e["event_id"] for e in lead["timeline"]) == sorted(scheduling + browsing)

    decision = lead["decision"]
    reasons = {r["rule"]: r for r in decision["reasons"]}
    assert sorted(reasons["scheduling_page"]["evidence"]) == sorted(scheduling)
    assert sorted(reasons["general_browsing"]["evidence"]) == sorted(browsing)
    assert "(×20)" in reasons["general_browsing"]["label"]
    assert decision["stage"] == "mql"

    history = lead["stage_history"]
    transitions = [(h["from_stage"], h["to_stage"]) for h in history]
    assert len(transitions) == len(set(transitions)), transitions
    assert all(a != b for a, b in transitions), transitions
    for before, after in itertools.pairwise(history):
        assert after["from_stage"] == before["to_stage"], transitions
    assert transitions[-1][1] == "mql"
    assert _count(app, StageChangeRow) == len(history)


def test_concurrent_batches_over_the_same_leads_in_different_orders_all_commit(
    app: App, base_url: str
) -> None:
    leads = [f"BL-{n}" for n in range(10)]
    for lead_id in leads:
        assert httpx.post(f"{base_url}/v1/leads", json={"lead_id": lead_id}).status_code == 201
    calls = []
    for batch in range(10):
        order = leads[batch:] + leads[:batch]  # every batch starts at another lead
        if batch % 2:
            order.reverse()
        events = [
            {
                "event_id": f"b{batch}-{lead_id}",
                "lead_id": lead_id,
                "type": "page_viewed",
                "occurred_at": f"2026-03-05T11:{batch:02d}:00Z",
                "properties": {"url": f"https://northwind.example/blog/post-{batch}"},
            }
            for lead_id in order
        ]
        calls.append(
            {"method": "POST", "url": "/v1/events?wait=decision", "json": {"events": events}}
        )
    responses = _send_together(base_url, calls)

    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert _count(app, EventRow) == 100
    for lead_id in leads:
        lead = httpx.get(f"{base_url}/v1/leads/{lead_id}").json()
        assert len(lead["timeline"]) == 10
        reasons = {r["rule"]: r for r in lead["decision"]["reasons"]}
        assert len(reasons["general_browsing"]["evidence"]) == 10
