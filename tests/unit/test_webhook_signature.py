"""Standard Webhooks signatures: the verification matrix and the spec's known answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from starlette.datastructures import Headers

from leadflow.adapters.webhooks import WebhookSignatureError, sign_webhook, verify_webhook

SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OLD_SECRET = "whsec_" + base64.b64encode(b"old-key-old-key-old-key!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-key-new-key-new-key!").decode()

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
BODY = b'{"lead_id":"L01","event":"form_submitted","score":12}'


def delivery(
    *,
    secret: str = NEW_SECRET,
    msg_id: str = "msg_1",
    timestamp: int = NOW_S,
    body: bytes = BODY,
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret, msg_id, timestamp, body),
    }


def rejection(
    headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None
) -> WebhookSignatureError:
    with pytest.raises(WebhookSignatureError) as info:
        verify_webhook(headers, body, [NEW_SECRET] if secrets is None else secrets, NOW)
    return info.value


def test_sign_matches_an_independently_computed_hmac() -> None:
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    content = f"{SPEC_ID}.{SPEC_TIMESTAMP}.".encode() + SPEC_BODY
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()

    signature = sign_webhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)

    assert signature == f"v1,{expected}"
    assert signature == SPEC_SIGNATURE


def test_spec_example_verifies_at_its_own_time() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    now = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)

    assert verify_webhook(headers, SPEC_BODY, [SPEC_SECRET], now) == SPEC_ID


def test_valid_delivery_is_accepted_and_returns_its_id() -> None:
    assert verify_webhook(delivery(msg_id="msg_42"), BODY, [NEW_SECRET], NOW) == "msg_42"


def test_missing_id_is_rejected() -> None:
    headers = delivery()
    del headers["webhook-id"]

    assert rejection(headers).code == "missing_id"


def test_missing_timestamp_is_rejected() -> None:
    headers = delivery()
    del headers["webhook-timestamp"]

    assert rejection(headers).code == "missing_timestamp"


@pytest.mark.parametrize("raw", ["soon", "1614265330.5", "1_614_265_330", "-5", "0x10"])
def test_non_integer_timestamp_is_rejected(raw: str) -> None:
    headers = delivery()
    headers["webhook-timestamp"] = raw

    assert rejection(headers).code == "bad_timestamp"


def test_stale_timestamp_is_rejected() -> None:
    assert rejection(delivery(timestamp=NOW_S - 301)).code == "timestamp_too_old"


def test_future_timestamp_is_rejected() -> None:
    assert rejection(delivery(timestamp=NOW_S + 301)).code == "timestamp_in_future"


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_exactly_at_the_tolerance_is_accepted(offset: int) -> None:
    headers = delivery(timestamp=NOW_S + offset)

    assert verify_webhook(headers, BODY, [NEW_SECRET], NOW) == "msg_1"


def test_tolerance_can_be_narrowed() -> None:
    headers = delivery(timestamp=NOW_S - 61)

    with pytest.raises(WebhookSignatureError) as info:
        verify_webhook(headers, BODY, [NEW_SECRET], NOW, tolerance_s=60)
    assert info.value.code == "timestamp_too_old"


def test_missing_signature_is_rejected() -> None:
    headers = delivery()
    del headers["webhook-signature"]

    assert rejection(headers).code == "missing_signature"


def test_bad_signature_is_rejected_without_quoting_it() -> None:
    headers = delivery(secret="whsec_" + base64.b64encode(b"someone-else").decode())

    error = rejection(headers)

    assert error.code == "bad_signature"
    signature = headers["webhook-signature"]
    assert signature not in str(error)
    assert signature.removeprefix("v1,") not in str(error)
    assert NEW_SECRET not in str(error)


def test_tampered_body_is_rejected() -> None:
    assert rejection(delivery(), body=BODY.replace(b"12", b"99")).code == "bad_signature"


def test_signature_over_reserialised_json_body_is_rejected() -> None:
    reserialised = json.dumps(json.loads(BODY)).encode()  # ", " and ": " instead of "," ":"
    assert reserialised != BODY

    assert rejection(delivery(), body=reserialised).code == "bad_signature"


def test_signature_made_with_the_older_of_two_active_secrets_is_accepted() -> None:
    headers = delivery(secret=OLD_SECRET)

    assert verify_webhook(headers, BODY, [NEW_SECRET, OLD_SECRET], NOW) == "msg_1"


def test_retired_secret_is_rejected() -> None:
    assert rejection(delivery(secret=OLD_SECRET), secrets=[NEW_SECRET]).code == "bad_signature"


def test_several_signatures_where_one_matches_are_accepted() -> None:
    headers = delivery()
    wrong = sign_webhook(OLD_SECRET, "msg_1", NOW_S, BODY)
    headers["webhook-signature"] = f"{wrong} v1,bm90IGEgc2lnbmF0dXJl {headers['webhook-signature']}"

    assert verify_webhook(headers, BODY, [NEW_SECRET], NOW) == "msg_1"


@pytest.mark.parametrize(
    "names",
    [
        ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"),
        ("WEBHOOK-ID", "WEBHOOK-TIMESTAMP", "WEBHOOK-SIGNATURE"),
        ("webhook-ID", "WebHook-TimeStamp", "webhook-signature"),
    ],
)
def test_header_names_in_any_case_are_accepted(names: tuple[str, str, str]) -> None:
    values = delivery()
    headers = dict(zip(names, values.values(), strict=True))

    assert verify_webhook(headers, BODY, [NEW_SECRET], NOW) == "msg_1"


def test_starlette_headers_are_accepted() -> None:
    raw = [(name.title().encode(), value.encode()) for name, value in delivery().items()]

    assert verify_webhook(Headers(raw=raw), BODY, [NEW_SECRET], NOW) == "msg_1"


def test_only_non_v1_signatures_are_a_bad_signature() -> None:
    headers = delivery()
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")

    assert rejection(headers).code == "bad_signature"


def test_non_v1_entries_beside_a_matching_v1_are_ignored() -> None:
    headers = delivery()
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n {headers['webhook-signature']}"

    assert verify_webhook(headers, BODY, [NEW_SECRET], NOW) == "msg_1"


def test_empty_secret_list_is_no_secret() -> None:
    assert rejection(delivery(), secrets=[]).code == "no_secret"


def test_naive_now_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_webhook(delivery(), BODY, [NEW_SECRET], NOW.replace(tzinfo=None))


def test_secret_without_the_whsec_prefix_is_used_as_utf8_bytes() -> None:
    secret = "plain-shared-secret"
    headers = delivery(secret=secret)
    key_secret = "whsec_" + base64.b64encode(secret.encode()).decode()

    assert verify_webhook(headers, BODY, [secret], NOW) == "msg_1"
    assert headers["webhook-signature"] == sign_webhook(key_secret, "msg_1", NOW_S, BODY)


def test_undecodable_secret_is_a_value_error_naming_its_position_not_its_value() -> None:
    broken = "whsec_not*base64!"

    with pytest.raises(ValueError, match="secret 2") as info:
        verify_webhook(delivery(), BODY, [NEW_SECRET, broken], NOW)
    assert broken not in str(info.value)
    assert "not*base64" not in str(info.value)
