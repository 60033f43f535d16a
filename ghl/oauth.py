"""GHL's OAuth 2.0 endpoints for a Marketplace app, through Authlib's requests client.

GHL's flow is the standard authorization-code grant (`apps/oauth.json`) with GHL's own
details, which Authlib takes as parameters: the client authenticates in the form body
(`client_secret_post`), the token request carries `user_type` (Location or Company), and a
company token is turned into location tokens at `POST /oauth/locationToken` (bearer auth,
`Version` header, form body). Authlib builds the authorize URL and its `state`, encodes the
token requests and computes `expires_at` from `expires_in`; the compliance hook below makes a
non-2xx answer an error, because GHL's error bodies (`{"statusCode": 400, "message": ...}`)
carry no OAuth `error` field and Authlib would otherwise take one for a token.

    app = GHLOAuthApp(client_id=..., client_secret=..., redirect_uri=..., base_url=...)
    url, state = app.authorize_url(chooser_url, scopes=SCOPES)
    tokens = app.exchange_code(code)              # -> OAuthTokens
    tokens = app.refresh(tokens.refresh_token)    # single-use: the old refresh token dies
    location = app.location_token(company_access, company_id=..., location_id=...)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from ghl.errors import GHLConnectionError, GHLError, GHLServerError, error_from_response
from ghl.redact import register_secret


def wall_clock() -> float:
    """Epoch seconds; `time.time` looked up per call, so freezegun's patch reaches it."""
    return time.time()


TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
LOCATION_TOKEN_PATH = "/oauth/locationToken"  # noqa: S105 - a path, not a secret
VERSION = "2021-07-28"

# What DealFinder calls (README, "GHL private integration token"), as Marketplace scopes.
SCOPES: tuple[str, ...] = (
    "contacts.readonly",
    "contacts.write",
    "opportunities.readonly",
    "opportunities.write",
    "conversations.readonly",
    "conversations.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "locations.readonly",
    "locations/customFields.readonly",
    "locations/customFields.write",
    "locations/tags.readonly",
    "locations/tags.write",
    "users.readonly",
    "workflows.readonly",
    "oauth.readonly",
    "oauth.write",
)


@dataclass(frozen=True)
class OAuthTokens:
    """One token answer from GHL, as DealFinder keeps it."""

    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds
    user_type: str  # "Location" or "Company"
    location_id: str | None = None
    company_id: str | None = None
    scope: str = ""
    approved_locations: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the tokens themselves
        return (
            f"OAuthTokens(user_type={self.user_type!r}, location_id={self.location_id!r}, "
            f"company_id={self.company_id!r}, expires_at={self.expires_at!r})"
        )

    @classmethod
    def from_answer(cls, data: dict[str, Any], *, now: float) -> OAuthTokens:
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise GHLOAuthError("GHL's token answer has no access_token", status=None)
        register_secret(access)
        refresh = data.get("refresh_token") or None
        register_secret(refresh)
        expires_at = data.get("expires_at")
        if not isinstance(expires_at, int | float):
            expires_at = now + float(data.get("expires_in") or 0)
        return cls(
            access_token=access,
            refresh_token=refresh,
            expires_at=float(expires_at),
            user_type=str(data.get("userType") or "Location"),
            location_id=data.get("locationId") or None,
            company_id=data.get("companyId") or None,
            scope=str(data.get("scope") or ""),
            approved_locations=tuple(data.get("approvedLocations") or ()),
        )


class GHLOAuthError(GHLError):
    """GHL refused a token request (bad code, used refresh token, wrong client secret)."""


class GHLOAuthAnswerLost(GHLConnectionError):
    """The token request left, but no answer came back: GHL may have rotated the tokens."""


def _raise_for_status(response: requests.Response) -> requests.Response:
    if response.status_code < 400:
        return response
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    if response.status_code >= 500:
        raise error_from_response(
            status=response.status_code, body=body, method="POST", path=TOKEN_PATH
        )
    message = body.get("message") if isinstance(body, dict) else None
    error = body.get("error") if isinstance(body, dict) else None
    raise GHLOAuthError(
        f"GHL refused the token request ({response.status_code}): {message or error or body}",
        status=response.status_code,
        body=body,
    )


class GHLOAuthApp:
    """DealFinder's Marketplace app: its client id and secret, and GHL's token endpoints."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        base_url: str,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        clock: Callable[[], float] = wall_clock,
    ) -> None:
        register_secret(client_secret)
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.clock = clock

    def _session(self, **kw: Any) -> OAuth2Session:
        session = OAuth2Session(
            self.client_id,
            self._client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - GHL: secret in the form
            redirect_uri=self.redirect_uri,
            **kw,
        )
        session.register_compliance_hook("access_token_response", _raise_for_status)
        session.register_compliance_hook("refresh_token_response", _raise_for_status)
        return session

    def authorize_url(self, chooser_url: str, *, scopes: Sequence[str] = SCOPES) -> tuple[str, str]:
        """GHL's location chooser URL for a new install, and the `state` it carries."""
        with self._session(scope=" ".join(scopes)) as session:
            url, state = session.create_authorization_url(chooser_url)
        return url, state

    def exchange_code(self, code: str, *, user_type: str = "Location") -> OAuthTokens:
        """Trade the callback's `code` for tokens (`grant_type=authorization_code`)."""
        with self._session() as session:
            answer = self._call(
                lambda: session.fetch_token(
                    self.base_url + TOKEN_PATH,
                    grant_type="authorization_code",
                    code=code,
                    user_type=user_type,
                    timeout=self.timeout,
                )
            )
        return OAuthTokens.from_answer(dict(answer), now=self.clock())

    def refresh(self, refresh_token: str, *, user_type: str = "Location") -> OAuthTokens:
        """Trade a refresh token for new tokens. GHL's refresh tokens are single-use: after a
        200 only the new one works, whether or not its answer arrived."""
        with self._session() as session:
            answer = self._call(
                lambda: session.refresh_token(
                    self.base_url + TOKEN_PATH,
                    refresh_token=refresh_token,
                    user_type=user_type,
                    timeout=self.timeout,
                )
            )
        return OAuthTokens.from_answer(dict(answer), now=self.clock())

    def location_token(
        self, company_access_token: str, *, company_id: str, location_id: str
    ) -> OAuthTokens:
        """A location's access token from the company's (`POST /oauth/locationToken`)."""
        token = {"access_token": company_access_token, "token_type": "Bearer"}
        with self._session(token=token) as session:
            response = self._call(
                lambda: session.post(
                    self.base_url + LOCATION_TOKEN_PATH,
                    data={"companyId": company_id, "locationId": location_id},
                    headers={"Version": VERSION, "Accept": "application/json"},
                    timeout=self.timeout,
                )
            )
            _raise_for_status(response)
            answer = response.json()
        answer.setdefault("locationId", location_id)
        answer.setdefault("companyId", company_id)
        answer.setdefault("userType", "Location")
        return OAuthTokens.from_answer(answer, now=self.clock())

    @staticmethod
    def _call(send: Callable[[], Any]) -> Any:
        try:
            return send()
        except (GHLOAuthError, GHLServerError):
            raise
        except requests.ConnectTimeout:
            raise GHLConnectionError(
                "GHL's token endpoint timed out connecting", request_sent=False
            ) from None
        except requests.ConnectionError as exc:
            if "refused" in str(exc) or "NewConnectionError" in str(exc):
                raise GHLConnectionError(
                    "GHL's token endpoint refused the connection", request_sent=False
                ) from None
            raise GHLOAuthAnswerLost(
                "GHL's token endpoint closed the connection without an answer"
            ) from None
        except requests.Timeout:
            raise GHLOAuthAnswerLost("GHL's token endpoint did not answer in time") from None
