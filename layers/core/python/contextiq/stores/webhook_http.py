"""POSTing a webhook delivery, safely: the SSRF rules and a connection pinned to the vetted address.

A URL is checked when a subscription is made and again at every delivery (a DNS name can later resolve
elsewhere: DNS rebinding). The check resolves the host and refuses it unless every address is public
(``ipaddress.is_global``: not private, loopback, link-local - which covers the 169.254.169.254 metadata
service - shared, reserved or multicast; IPv4-mapped IPv6 is unwrapped; the EC2 IPv6 metadata address
fd00:ec2::254 is unique-local, so refused). The delivery then connects to the address it vetted (the TLS
name check and the Host header still use the URL's host), so no second lookup can swap the address in
between. Redirects are not followed. With ``allow_local`` (the local runtime) loopback/private hosts and
plain http are allowed.

Why urllib3 by hand: it ships with botocore (already in the Lambda layer) and lets the connection be pinned
to an address while TLS verifies the hostname (``server_hostname``/``assert_hostname``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from contextiq import limits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class UnsafeUrlError(ValueError):
    """The URL may not receive deliveries (the message says why)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path + query


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer (refused URL, DNS, connect or read failure)
    error: str | None  # None when 2xx

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def parse_target(url: str, allow_local: bool) -> Target:
    """The URL's parts, or UnsafeUrlError (scheme, credentials, fragment, host)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as e:  # e.g. "https://[::1" (an unclosed IPv6 literal)
        raise UnsafeUrlError(f"the URL cannot be parsed ({e})") from None
    allowed = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError(f"the URL must be {' or '.join(allowed)}")
    if parts.username or parts.password:
        raise UnsafeUrlError("the URL must not carry credentials")
    if parts.fragment:
        raise UnsafeUrlError("the URL must not have a #fragment")
    if not host:
        raise UnsafeUrlError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrlError("the URL's port is not valid") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def vetted_address(target: Target, allow_local: bool, resolve: Resolver = system_resolver) -> str:
    """The address to connect to: every address the host resolves to must be public (unless allow_local)."""
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(target.host, target.port)]
    except (OSError, UnicodeError) as e:
        raise UnsafeUrlError(f"the host {target.host!r} does not resolve ({e.__class__.__name__})") from None
    if not addresses:
        raise UnsafeUrlError(f"the host {target.host!r} does not resolve")
    if not allow_local:
        refused = [str(a) for a in addresses if not is_public(a)]
        if refused:
            raise UnsafeUrlError(
                f"the host {target.host!r} resolves to a private, loopback, link-local or metadata address "
                f"({refused[0]}); webhooks only go to public addresses"
            )
    return str(addresses[0])


def check_url(url: str, allow_local: bool, resolve: Resolver = system_resolver) -> None:
    vetted_address(parse_target(url, allow_local), allow_local, resolve)


def post(
    url: str, body: bytes, headers: dict[str, str], allow_local: bool, resolve: Resolver = system_resolver
) -> Answer:
    """One delivery attempt. Never raises for the receiver's or the network's faults: the Answer says."""
    try:
        target = parse_target(url, allow_local)
        address = vetted_address(target, allow_local, resolve)
    except UnsafeUrlError as e:
        return Answer(None, f"refused: {e}")
    timeout = urllib3.Timeout(connect=limits.WEBHOOK_CONNECT_TIMEOUT_SECONDS, read=limits.WEBHOOK_READ_TIMEOUT_SECONDS)
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)
    try:
        resp = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        excerpt = resp.read(limits.WEBHOOK_RESPONSE_BYTES_KEPT, decode_content=False)
        resp.release_conn()
    except urllib3.exceptions.HTTPError as e:
        return Answer(None, f"{e.__class__.__name__}: {str(e)[:200]}")
    finally:
        pool.close()
    if 200 <= resp.status < 300:
        return Answer(resp.status, None)
    text = excerpt.decode("utf-8", "replace").strip()
    return Answer(resp.status, f"HTTP {resp.status}" + (f": {text[:200]}" if text else ""))
