"""Webhook signatures: sign outbound and verify inbound deliveries (Standard Webhooks)."""

from __future__ import annotations

from leadflow.adapters.webhooks.signature import (
    DEFAULT_TOLERANCE_S,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
    verify_webhook,
)
from leadflow.errors import WebhookSignatureError

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookSignatureError",
    "sign_webhook",
    "verify_webhook",
]
