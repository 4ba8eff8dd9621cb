"""One error table: each error class carries its HTTP status and code, the API's one handler
answers by them, and the tree drawn in leadflow.errors lists every class."""

from __future__ import annotations

import inspect

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadflow import errors
from leadflow.entrypoints.api.errors import install_error_handlers
from leadflow.errors import (
    ActionNotAllowedError,
    ConcurrentUpdateError,
    HttpError,
    InvalidRecordError,
    LeadflowError,
    LeadNotFoundError,
    NotMergedError,
    PlaybookError,
    RecordProblem,
    StoreError,
    UnknownMemberError,
    WebhookSignatureError,
    invalid_field,
)


def _classes() -> list[type[LeadflowError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, LeadflowError) and c.__module__ == errors.__name__
    ]


def test_every_store_error_declares_its_own_status_and_code() -> None:
    for cls in _classes():
        if issubclass(cls, StoreError) and cls is not StoreError:
            assert "status" in cls.__dict__, f"{cls.__name__} declares no HTTP status"
            assert "code" in cls.__dict__, f"{cls.__name__} declares no code"
            assert 400 <= cls.status < 500


def test_the_tree_in_the_modules_docstring_names_every_error_class() -> None:
    doc = errors.__doc__ or ""
    for cls in _classes():
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree in errors.py"


def _answer(exc: Exception) -> tuple[int, dict[str, object], dict[str, str]]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    return response.status_code, response.json()["error"], dict(response.headers)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (LeadNotFoundError("L1"), 404, "lead_not_found"),
        (NotMergedError("L1"), 409, "not_merged"),
        (ActionNotAllowedError("L1", "won", "accept", []), 409, "action_not_allowed"),
        (UnknownMemberError("owner", "nobody"), 422, "unknown_member"),
        (ConcurrentUpdateError("raced"), 409, "concurrent_update"),
        (WebhookSignatureError("bad_signature", "no match"), 401, "webhook_bad_signature"),
        (HttpError(429, "rate_limited", "slow down"), 429, "rate_limited"),
        (invalid_field("cursor", "not ours"), 422, "invalid_request"),
        (
            InvalidRecordError([RecordProblem("request", 1, "L1", "email", "not an email")]),
            422,
            "invalid_record",
        ),
    ],
)
def test_the_one_handler_answers_each_error_by_its_class(
    exc: LeadflowError, status: int, code: str
) -> None:
    got, body, headers = _answer(exc)
    assert (got, body["code"]) == (status, code)
    assert isinstance(body["problems"], list)
    if isinstance(exc, ConcurrentUpdateError):
        assert headers["retry-after"] == "1"
    if isinstance(exc, (UnknownMemberError, InvalidRecordError, HttpError)) and status == 422:
        assert body["problems"], "a 422 names its fields"


def test_an_error_that_is_a_bug_says_nothing_of_its_contents() -> None:
    status, body, _ = _answer(PlaybookError([]))
    assert status == 500
    assert body["code"] == "internal_error"
    assert body["message"] == "unexpected PlaybookError; see the log"
