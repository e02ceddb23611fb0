"""JWTs from an OIDC issuer (Cognito or any issuer with a JWKS URL) -> tenant, role and subject.

Verification is PyJWT's (``jwt.decode`` with the issuer's public key): signature, ``alg`` from an allow
list (never ``none``, never a symmetric algorithm against a public key), ``exp``/``nbf``/``iat`` with a
small leeway, ``iss`` and the audience. Signing keys come from the issuer's JWKS through
``jwt.PyJWKClient``, which caches the key set for ``jwks_cache_seconds`` and fetches it again, at most
once per cooldown, when a token names an unknown ``kid`` (key rotation). docs/infrastructure.md
("JWT authorizer") says why PyJWT and which claims are read.

Claims -> caller (names configurable per stage, ``infra/stages.py`` ``JwtAuthConfig``):
- tenant: ``tenant_claim`` (default ``custom:tenant``, a Cognito custom attribute), a string matching
  ``TENANT_PATTERN``;
- role: ``role_claim`` (default ``custom:role``): ``read``/``write``/``admin``, or a list of strings (e.g.
  ``cognito:groups``) of which the highest role named wins; absent -> ``default_role`` if one is set;
- audience: ``aud`` (OIDC ID tokens), or ``client_id`` for Cognito access tokens, which carry no ``aud``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from contextiq.config import Settings
from contextiq.stores.dynamo.api_keys import ROLES

TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


class InvalidTokenError(Exception):
    """The token is not one this stage accepts; ``reason`` says why (logged, never returned)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenCaller:
    tenant: str
    role: str
    subject: str


@dataclass(frozen=True)
class TokenPolicy:
    """What a token must be, and which claims name its tenant and role."""

    issuer: str
    audiences: tuple[str, ...]
    jwks_url: str
    audience_claim: str = "aud"  # or "client_id" (Cognito access tokens)
    tenant_claim: str = "custom:tenant"
    role_claim: str = "custom:role"
    default_role: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        if not self.issuer.startswith("https://"):
            raise ValueError("the JWT issuer must be an https:// URL")
        if not self.audiences:
            raise ValueError("list at least one accepted audience (the app client id)")
        if self.audience_claim not in ("aud", "client_id"):
            raise ValueError("audience_claim must be 'aud' or 'client_id'")
        if not self.algorithms or not set(self.algorithms) <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithms must be asymmetric ones from {sorted(ASYMMETRIC_ALGORITHMS)}")
        if self.default_role is not None and self.default_role not in ROLES:
            raise ValueError(f"default_role must be one of {ROLES}")


class TokenVerifier:
    """Verifies bearer tokens against one issuer; keeps the issuer's JWKS in memory between calls."""

    def __init__(
        self,
        policy: TokenPolicy,
        *,
        jwks_cache_seconds: float = 300,
        fetch_timeout: float = 3,
        refetch_cooldown_seconds: float = 30,
    ) -> None:
        self.policy = policy
        # cache_keys: PyJWK objects per kid, so a warm authorizer parses no key twice. An unknown kid
        # fetches the set again, but never within refetch_cooldown_seconds of the last fetch.
        self._jwks = jwt.PyJWKClient(
            policy.jwks_url,
            cache_keys=True,
            lifespan=jwks_cache_seconds,
            timeout=fetch_timeout,
            cooldown_duration=refetch_cooldown_seconds,
        )

    def verify(self, token: str) -> TokenCaller:
        policy = self.policy
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in policy.algorithms:
                raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not accepted")
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=list(policy.algorithms),
                issuer=policy.issuer,
                audience=list(policy.audiences) if policy.audience_claim == "aud" else None,
                leeway=policy.leeway_seconds,
                options={
                    "require": ["exp", "iat", "iss", "sub"],
                    "verify_aud": policy.audience_claim == "aud",
                },
            )
        except jwt.PyJWKClientConnectionError as error:
            raise InvalidTokenError(f"the issuer's JWKS could not be fetched: {error}") from error
        except jwt.PyJWTError as error:  # expired, bad signature, wrong iss/aud, unknown kid, malformed...
            raise InvalidTokenError(f"{type(error).__name__}: {error}") from error
        if policy.audience_claim == "client_id" and claims.get("client_id") not in policy.audiences:
            raise InvalidTokenError("client_id is not an accepted audience")
        return TokenCaller(tenant=self._tenant(claims), role=self._role(claims), subject=str(claims["sub"]))

    def _tenant(self, claims: dict[str, Any]) -> str:
        tenant = claims.get(self.policy.tenant_claim)
        if not isinstance(tenant, str) or not TENANT_PATTERN.match(tenant):
            raise InvalidTokenError(f"claim {self.policy.tenant_claim!r} is missing or not a tenant id")
        return tenant

    def _role(self, claims: dict[str, Any]) -> str:
        value = claims.get(self.policy.role_claim)
        named: Sequence[Any] = value if isinstance(value, list) else [value] if value is not None else []
        roles = [r for r in ROLES if r in named]  # ROLES is ordered read < write < admin
        if roles:
            return roles[-1]
        if self.policy.default_role is not None:
            return self.policy.default_role
        raise InvalidTokenError(f"claim {self.policy.role_claim!r} names no role of {ROLES}")


def bearer_token(authorization: str | None) -> str | None:
    """``Bearer <token>`` -> ``<token>``; anything else -> None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def verifier_from_settings(settings: Settings) -> TokenVerifier | None:
    """The stage's verifier (``CONTEXTIQ_JWT_*``), or None when the stage has no JWT issuer."""
    if not settings.jwt_issuer:
        return None

    def split(value: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in value.split(",") if part.strip())

    policy = TokenPolicy(
        issuer=settings.jwt_issuer,
        audiences=split(settings.jwt_audiences),
        jwks_url=settings.jwt_jwks_url or settings.jwt_issuer.rstrip("/") + "/.well-known/jwks.json",
        audience_claim=settings.jwt_audience_claim,
        tenant_claim=settings.jwt_tenant_claim,
        role_claim=settings.jwt_role_claim,
        default_role=settings.jwt_default_role or None,
        algorithms=split(settings.jwt_algorithms),
    )
    return TokenVerifier(policy, jwks_cache_seconds=settings.jwt_jwks_cache_seconds)
