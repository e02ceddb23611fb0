"""An OIDC issuer for tests: RSA keys made here, a JWKS served on 127.0.0.1 (no network), signed tokens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
CLIENT_ID = "app-client-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class Issuer:
    """Signs tokens with ``keys[kid]``; ``published`` lists the kids its JWKS shows; ``hits`` counts fetches."""

    url: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    hits: int = 0

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.keys[kid], kid) for kid in self.published]}

    def token(
        self, kid: str = "k1", *, lifetime: int = 3600, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "user-1",
            "iat": now,
            "exp": now + lifetime,
            "custom:tenant": "tenant-a",
            "custom:role": "write",
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}  # claim=None drops it
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid, **(headers or {})})


@contextmanager
def serve_issuer() -> Iterator[Issuer]:
    issuer = Issuer(keys={"k1": new_key()}, published=["k1"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.hits += 1
            body = json.dumps(issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
