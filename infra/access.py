"""Stage options for who reaches the stage and how: the JWT authorizer's issuer, the VPC placement.

Like ``infra/stages.py`` (which re-exports them), this module imports nothing from CDK.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

_JWT_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


@dataclass(frozen=True)
class JwtAuthConfig:
    """An OIDC issuer whose end users call the API (docs/infrastructure.md, "JWT authorizer").

    With it, every data request carries the application's ``x-api-key`` (the usage plan meters it) and
    ``Authorization: Bearer <JWT>`` of the signed-in user; the token's claims name the tenant and the role.
    """

    issuer: str  # the token's "iss", e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>
    audiences: tuple[str, ...]  # accepted app client ids
    jwks_url: str | None = None  # None: <issuer>/.well-known/jwks.json (Cognito's); else the discovery's jwks_uri
    audience_claim: Literal["aud", "client_id"] = "aud"  # "client_id" for Cognito access tokens (no "aud")
    tenant_claim: str = "custom:tenant"
    role_claim: str = "custom:role"  # a string or a list (e.g. "cognito:groups"); the highest role wins
    default_role: Literal["read", "write", "admin"] | None = None  # when the token names no role
    algorithms: tuple[str, ...] = ("RS256",)
    jwks_cache_seconds: int = 300

    def __post_init__(self) -> None:
        for url in (self.issuer, self.jwks_url or self.issuer):
            if not url.startswith("https://"):
                raise ValueError(f"JWT issuer and JWKS URL must be https:// URLs, got {url!r}")
        if not self.audiences or not all(self.audiences):
            raise ValueError("list at least one accepted audience (app client id)")
        if not self.algorithms or not set(self.algorithms) <= _JWT_ALGORITHMS:
            raise ValueError(f"algorithms must be asymmetric ones from {sorted(_JWT_ALGORITHMS)}")
        if not self.tenant_claim or not self.role_claim:
            raise ValueError("tenant_claim and role_claim must name claims")
        if not 0 <= self.jwks_cache_seconds <= 86400:
            raise ValueError("jwks_cache_seconds must be within 0..86400")

    @classmethod
    def cognito(cls, region: str, user_pool_id: str, client_ids: tuple[str, ...], **options: object) -> JwtAuthConfig:
        """A Cognito user pool's issuer (docs/infrastructure.md cites Cognito's token verification page)."""
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        return cls(issuer=issuer, audiences=client_ids, **options)  # type: ignore[arg-type]

    def settings(self) -> dict[str, str | int]:
        """The authorizer's ``contextiq.config.Settings`` values (``CONTEXTIQ_JWT_*``)."""
        return {
            "jwt_issuer": self.issuer,
            "jwt_audiences": ",".join(self.audiences),
            "jwt_jwks_url": self.jwks_url or self.issuer.rstrip("/") + "/.well-known/jwks.json",
            "jwt_audience_claim": self.audience_claim,
            "jwt_tenant_claim": self.tenant_claim,
            "jwt_role_claim": self.role_claim,
            "jwt_default_role": self.default_role or "",
            "jwt_algorithms": ",".join(self.algorithms),
            "jwt_jwks_cache_seconds": self.jwks_cache_seconds,
        }


# Interface endpoints the functions need once they run in isolated subnets (no NAT, no internet):
# DynamoDB has a gateway endpoint; these are interface endpoints (docs/infrastructure.md, "VPC placement").
INTERFACE_ENDPOINTS: tuple[str, ...] = ("sqs", "bedrock-runtime", "secretsmanager", "xray")


@dataclass(frozen=True)
class NetworkConfig:
    """VPC placement: the stack builds a VPC of isolated private subnets (no NAT gateway, no internet route),
    puts the OpenSearch domain and every function but the authorizer in it, and adds the VPC endpoints
    those functions call (DynamoDB gateway; SQS, Bedrock runtime, Secrets Manager and X-Ray interface)."""

    cidr: str = "10.40.0.0/16"
    max_azs: int = 3
    flow_log_retention_days: int = 30

    def __post_init__(self) -> None:
        network = ipaddress.ip_network(self.cidr)  # raises on a malformed CIDR
        if not 16 <= network.prefixlen <= 24 or not network.is_private:
            raise ValueError("cidr must be a private IPv4 block between /16 and /24")
        if self.max_azs not in (2, 3):
            raise ValueError("max_azs must be 2 or 3")
