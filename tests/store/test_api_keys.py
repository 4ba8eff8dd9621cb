"""API keys and roles: open local mode until a key exists, then a key on every request."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from leadflow.adapters.db.engine import make_engine
from leadflow.entrypoints.cli import app as cli
from tests.factories import CAREGIVER, CAREGIVER_EVENTS, bearer, create_key


def test_without_keys_the_api_is_open_and_x_actor_names_the_person(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event)
    client.post("/v1/leads/SC-001/actions/accept", json={}, headers={"X-Actor": "ana"})
    lead = client.get("/v1/leads/SC-001")
    assert lead.status_code == 200, lead.text
    assert lead.json()["stage_history"][-1]["actor"] == "user:ana"


def test_once_a_key_exists_every_request_needs_one_and_the_key_is_the_actor(
    client: TestClient, database_url: str
) -> None:
    key = create_key(database_url, "intake-desk", "intake")
    refused = client.post("/v1/leads", json=CAREGIVER)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    wrong = client.post("/v1/leads", json=CAREGIVER, headers=bearer(key[:-2] + "xx"))
    assert wrong.status_code == 401
    assert client.post("/v1/leads", json=CAREGIVER, headers=bearer(key)).status_code == 201
    for event in CAREGIVER_EVENTS:
        assert (
            client.post("/v1/events?wait=decision", json=event, headers=bearer(key)).status_code
            == 201
        )
    accepted = client.post(
        "/v1/leads/SC-001/actions/accept", json={}, headers={**bearer(key), "X-Actor": "ana"}
    )
    assert accepted.status_code == 200
    history = client.get("/v1/leads/SC-001", headers=bearer(key)).json()["stage_history"]
    assert history[-1]["actor"] == "key:intake-desk/user:ana"
    assert client.get("/healthz").status_code == 200  # health checks need no key


def test_roles_limit_what_a_key_may_do(client: TestClient, database_url: str) -> None:
    marketing = create_key(database_url, "forms", "marketing")
    analyst = create_key(database_url, "reports", "analyst")
    assert client.post("/v1/leads", json=CAREGIVER, headers=bearer(marketing)).status_code == 201
    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event, headers=bearer(marketing))
    act = client.post("/v1/leads/SC-001/actions/accept", json={}, headers=bearer(marketing))
    assert act.status_code == 403
    assert act.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/leads/SC-001", headers=bearer(analyst)).status_code == 403
    assert client.post("/v1/leads", json=CAREGIVER, headers=bearer(analyst)).status_code == 403
    assert client.get("/v1/playbooks", headers=bearer(analyst)).status_code == 200


def test_a_revoked_key_stops_working_and_only_a_hash_is_stored(
    client: TestClient, database_url: str
) -> None:
    old = create_key(database_url, "crm", "sales")
    new = create_key(database_url, "crm-2", "sales")
    listed = CliRunner().invoke(cli, ["apikey", "list", "--database-url", database_url])
    key_id = old.removeprefix("lf_").split("_")[0]
    assert key_id in listed.stdout
    assert old not in listed.stdout
    revoked = CliRunner().invoke(cli, ["apikey", "revoke", key_id, "--database-url", database_url])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/v1/leads", headers=bearer(old)).status_code == 401
    assert client.get("/v1/leads", headers=bearer(new)).status_code == 200
    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM api_keys")).scalars().all()
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY seq")).scalars().all()
    engine.dispose()
    secret = old.split("_", 2)[2]
    assert all(secret not in value for value in stored)
    assert actions.count("apikey.created") == 2
    assert "apikey.revoked" in actions
