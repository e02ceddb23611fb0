"""JWT verification (handlers/tokens.py) against an issuer whose keys are made here and whose JWKS is
served on 127.0.0.1: signature, algorithm, issuer, audience, expiry, claims -> tenant and role, the
JWKS cache and key rotation."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import replace

import jwt
import pytest

from contextiq.config import Settings
from contextiq.handlers.tokens import (
    InvalidTokenError,
    TokenPolicy,
    TokenVerifier,
    bearer_token,
    verifier_from_settings,
)
from tests.jwks import CLIENT_ID, ISSUER, Issuer, new_key, serve_issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as served:
        yield served


def policy(issuer: Issuer, **changes: object) -> TokenPolicy:
    return replace(TokenPolicy(issuer=ISSUER, audiences=(CLIENT_ID,), jwks_url=issuer.url), **changes)  # type: ignore[arg-type]


def test_a_valid_token_names_tenant_role_and_subject(issuer: Issuer) -> None:
    caller = TokenVerifier(policy(issuer)).verify(issuer.token())
    assert (caller.tenant, caller.role, caller.subject) == ("tenant-a", "write", "user-1")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example.com"}, "InvalidIssuerError"),
        ({"aud": "another-client"}, "InvalidAudienceError"),
        ({"exp": int(time.time()) - 120}, "ExpiredSignatureError"),  # beyond the 30 s leeway
        ({"nbf": int(time.time()) + 86_400}, "ImmatureSignatureError"),  # a day: suites run long after collection
        ({"sub": None}, "MissingRequiredClaimError"),
        ({"exp": None}, "MissingRequiredClaimError"),
        ({"custom:tenant": None}, "'custom:tenant' is missing"),
        ({"custom:tenant": "bad tenant/../x"}, "'custom:tenant' is missing or not a tenant id"),
        ({"custom:tenant": 42}, "not a tenant id"),
        ({"custom:role": "superuser"}, "names no role"),
        ({"custom:role": None}, "names no role"),
    ],
)
def test_tokens_the_stage_does_not_accept(issuer: Issuer, claims: dict[str, object], why: str) -> None:
    with pytest.raises(InvalidTokenError, match=why):
        TokenVerifier(policy(issuer)).verify(issuer.token(**claims))


def test_a_token_signed_by_another_key_with_a_published_kid_fails_its_signature(issuer: Issuer) -> None:
    forged = Issuer(keys={"k1": new_key()}).token("k1")  # same kid, a key the issuer never published
    with pytest.raises(InvalidTokenError, match="InvalidSignatureError"):
        TokenVerifier(policy(issuer)).verify(forged)


def test_a_tampered_payload_fails_its_signature(issuer: Issuer) -> None:
    head, body, signature = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["custom:tenant"] = "tenant-b"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError, match="InvalidSignatureError"):
        TokenVerifier(policy(issuer)).verify(f"{head}.{forged_body}.{signature}")


def test_alg_none_and_hmac_with_the_public_key_are_refused(issuer: Issuer) -> None:
    unsigned = jwt.encode({"iss": ISSUER, "aud": CLIENT_ID, "sub": "u"}, None, algorithm="none")
    with pytest.raises(InvalidTokenError, match="algorithm 'none' is not accepted"):
        TokenVerifier(policy(issuer)).verify(unsigned)
    public_pem = issuer.jwks()["keys"][0]["n"]  # whatever an attacker knows of the public key
    confused = jwt.encode({"iss": ISSUER}, public_pem, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(InvalidTokenError, match="algorithm 'HS256' is not accepted"):
        TokenVerifier(policy(issuer)).verify(confused)
    with pytest.raises(ValueError, match="asymmetric"):
        policy(issuer, algorithms=("HS256",))


def test_garbage_is_refused_not_raised(issuer: Issuer) -> None:
    for token in ("", "abc", "a.b.c", "x" * 5000):
        with pytest.raises(InvalidTokenError):
            TokenVerifier(policy(issuer)).verify(token)


def test_roles_from_a_group_list_take_the_highest_and_a_default_applies_only_when_configured(
    issuer: Issuer,
) -> None:
    groups = policy(issuer, role_claim="cognito:groups")
    token = issuer.token(**{"cognito:groups": ["staff", "read", "write"], "custom:role": None})
    assert TokenVerifier(groups).verify(token).role == "write"
    no_role = issuer.token(**{"custom:role": None})
    assert TokenVerifier(policy(issuer, default_role="read")).verify(no_role).role == "read"
    with pytest.raises(ValueError, match="default_role"):
        policy(issuer, default_role="root")


def test_cognito_access_tokens_are_checked_on_client_id(issuer: Issuer) -> None:
    access = policy(issuer, audience_claim="client_id")
    token = issuer.token(aud=None, client_id=CLIENT_ID, token_use="access")
    assert TokenVerifier(access).verify(token).tenant == "tenant-a"
    with pytest.raises(InvalidTokenError, match="client_id"):
        TokenVerifier(access).verify(issuer.token(aud=None, client_id="other"))


def test_the_jwks_is_fetched_once_and_again_only_for_a_new_kid(issuer: Issuer) -> None:
    verifier = TokenVerifier(policy(issuer), jwks_cache_seconds=300, refetch_cooldown_seconds=0)
    before = issuer.hits
    for _ in range(20):
        verifier.verify(issuer.token())
    assert issuer.hits == before + 1  # cached: one fetch for twenty tokens
    issuer.keys["k2"] = new_key()  # rotation: the issuer publishes a new key and signs with it
    issuer.published.append("k2")
    assert verifier.verify(issuer.token("k2")).subject == "user-1"
    assert issuer.hits == before + 2
    issuer.keys["k3"] = new_key()  # never published: refetched, then refused
    with pytest.raises(InvalidTokenError, match="k3"):
        verifier.verify(issuer.token("k3"))
    assert issuer.hits == before + 3


def test_unknown_kids_cannot_make_the_authorizer_hammer_the_issuer(issuer: Issuer) -> None:
    verifier = TokenVerifier(policy(issuer), refetch_cooldown_seconds=30)
    verifier.verify(issuer.token())
    before = issuer.hits
    issuer.keys["k9"] = new_key()
    for _ in range(5):
        with pytest.raises(InvalidTokenError, match="k9"):
            verifier.verify(issuer.token("k9"))
    assert issuer.hits == before  # within the cooldown of the last fetch: no refetch at all


def test_an_unreachable_jwks_refuses_the_token() -> None:
    unreachable = TokenPolicy(issuer=ISSUER, audiences=(CLIENT_ID,), jwks_url="http://127.0.0.1:9/jwks.json")
    with pytest.raises(InvalidTokenError, match="JWKS"):
        TokenVerifier(unreachable, fetch_timeout=1).verify(Issuer(keys={"k1": new_key()}).token())


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc ") == "abc"
    for value in (None, "", "Basic abc", "Bearer", "Bearer   ", "abc"):
        assert bearer_token(value) is None


def test_settings_build_the_verifier_and_default_to_cognitos_jwks_path() -> None:
    assert verifier_from_settings(Settings()) is None
    settings = Settings(jwt_issuer=ISSUER, jwt_audiences=f"{CLIENT_ID}, other", jwt_role_claim="cognito:groups")
    verifier = verifier_from_settings(settings)
    assert verifier is not None
    assert verifier.policy.jwks_url == ISSUER + "/.well-known/jwks.json"
    assert verifier.policy.audiences == (CLIENT_ID, "other")
    assert verifier.policy.role_claim == "cognito:groups"
    with pytest.raises(ValueError, match="https"):
        TokenPolicy(issuer="http://insecure", audiences=("a",), jwks_url="x")
    with pytest.raises(ValueError, match="audience"):
        verifier_from_settings(Settings(jwt_issuer=ISSUER))
