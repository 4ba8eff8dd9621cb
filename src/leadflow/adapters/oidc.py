"""Single sign-on with OpenID Connect: the authorisation code flow with PKCE (Authlib).

:class:`OidcClient` reads the provider's discovery document once, builds the authorisation
URL (``state``, ``nonce``, an S256 code challenge), exchanges the code for tokens with the
verifier and checks the ID token — its signature against the provider's published keys, its
issuer, audience, expiry and nonce (joserfc) — before anything of it is used.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from threading import Lock
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from leadflow.errors import SsoError

TIMEOUT_S = 10.0
LEEWAY_S = 60


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scopes: str = "openid email profile"


@dataclass(frozen=True)
class SsoStart:
    """What the browser is sent to, and what must be kept until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class SsoIdentity:
    """Who the provider says signed in (from a verified ID token and the userinfo)."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None
    name: str | None
    claims: dict[str, Any]


class OidcClient:
    """One provider; safe to share between requests."""

    def __init__(self, config: SsoConfig) -> None:
        self.config = config
        self._discovery: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = Lock()

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=TIMEOUT_S)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoError(f"the identity provider's {what} could not be read") from exc
        if not isinstance(data, dict):
            raise SsoError(f"the identity provider's {what} is not a JSON object")
        return data

    def discovery(self) -> dict[str, Any]:
        with self._lock:
            if self._discovery is None:
                url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                found = self._get_json(url, "discovery document")
                if found.get("issuer", "").rstrip("/") != self.config.issuer.rstrip("/"):
                    raise SsoError("the discovery document names another issuer")
                self._discovery = found
            return self._discovery

    def _client(self) -> OAuth2Client:
        return OAuth2Client(
            self.config.client_id,
            self.config.client_secret,
            scope=self.config.scopes,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_S,
        )

    def start(self) -> SsoStart:
        """A fresh authorisation request."""
        endpoint = self.discovery()["authorization_endpoint"]
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=verifier
            )
        return SsoStart(url, state, nonce, verifier)

    def finish(self, code: str, code_verifier: str, nonce: str) -> SsoIdentity:
        """Exchange the code and verify the ID token."""
        found = self.discovery()
        try:
            with self._client() as client:
                token = client.fetch_token(
                    found["token_endpoint"], code=code, code_verifier=code_verifier
                )
        except (OAuth2Error, httpx.HTTPError, ValueError) as exc:
            raise SsoError("the identity provider refused the sign-in code") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError("the identity provider sent no ID token")
        claims = self._verified(id_token, nonce)
        extra = self._userinfo(found, token.get("access_token"))
        merged = {**extra, **claims}
        return SsoIdentity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=merged.get("email") if isinstance(merged.get("email"), str) else None,
            email_verified=merged.get("email_verified")
            if isinstance(merged.get("email_verified"), bool)
            else None,
            name=merged.get("name") if isinstance(merged.get("name"), str) else None,
            claims=merged,
        )

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is None or refresh:
                uri = (self._discovery or {}).get("jwks_uri")
                if not isinstance(uri, str):
                    raise SsoError("the discovery document has no jwks_uri")
                self._keys = KeySet.import_key_set(self._get_json(uri, "signing keys"))  # type: ignore[arg-type]
            return self._keys

    def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), algorithms=["RS256", "ES256"])
            except JoseError:  # a rotated key: read the published keys once more
                decoded = jwt.decode(
                    id_token, self._key_set(refresh=True), algorithms=["RS256", "ES256"]
                )
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_S,
                iss={"essential": True, "value": self.discovery()["issuer"]},
                aud={"essential": True, "value": self.config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise SsoError(f"the ID token did not verify ({type(exc).__name__})") from exc
        return dict(decoded.claims)

    def _userinfo(self, found: dict[str, Any], access_token: object) -> dict[str, Any]:
        endpoint = found.get("userinfo_endpoint")
        if not isinstance(endpoint, str) or not isinstance(access_token, str):
            return {}
        try:
            response = httpx.get(
                endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT_S
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoError("the identity provider's userinfo could not be read") from exc
        return data if isinstance(data, dict) else {}
