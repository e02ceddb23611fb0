"""The server's own boto3 clients reach moto without a socket.

botocore emits ``before-send.<service>.<operation>`` with the fully prepared request (serialised,
signed) just before its HTTP client would send it; a handler that returns a response replaces the
network round trip. This is how moto's ``mock_aws`` works, and botocore parses the answer exactly as it
parses one from AWS, so the code path of the service is unchanged.

We do not use ``mock_aws`` itself in the server: it routes every AWS service to moto (Bedrock too) and
patches ``requests``. This handler takes only DynamoDB, DynamoDB Streams and SQS requests addressed to
the local moto endpoint (``AWS_ENDPOINT_URL``), and hands them to the same moto handler the moto
thread server would call for them, looked up once per service rather than per request. Any other
service, or a client pointed elsewhere, goes over the network as before; the thread server keeps
answering other local processes on the same in-memory backends (docs/local-runtime.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# botocore event-name service -> the AWS host moto's URL map is written for
SERVICES = {"dynamodb": "dynamodb", "dynamodb-streams": "streams.dynamodb", "sqs": "sqs"}
Handler = Callable[[Any, str, Any], Any]


class InProcessMoto:
    """A botocore ``before-send`` handler; inert until :meth:`enable`."""

    def __init__(self) -> None:
        self.endpoint: str | None = None
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self.requests = 0  # served without a socket (tests read it)

    def enable(self, endpoint: str) -> None:
        """Serve requests to ``endpoint`` (moto's thread server URL) in process from now on."""
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS

        if ("before-send", self) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(("before-send", self))
        boto3.DEFAULT_SESSION = None  # sessions made from now on carry the handler
        self.endpoint = endpoint.rstrip("/")

    def disable(self) -> None:
        self.endpoint = None

    def __call__(self, request: Any, event_name: str = "", **_: Any) -> Any:
        endpoint = self.endpoint
        if endpoint is None or not request.url.startswith(endpoint + "/"):
            return None
        parts = event_name.split(".")
        service = parts[1] if len(parts) > 1 else ""
        if service not in SERVICES:
            return None
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.exceptions import HTTPException
        from moto.core.request import normalize_request

        handler = self._handler(service)
        normalized = normalize_request(request)
        try:
            status, headers, body = handler(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as error:
            status, headers, body = error.code, error.get_headers(), error.get_body()
        with self._lock:
            self.requests += 1
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    def _handler(self, service: str) -> Handler:
        if service not in self._handlers:
            self._handlers[service] = _moto_handler(SERVICES[service])
        return self._handlers[service]


def _moto_handler(host: str) -> Handler:
    """The moto handler for requests to ``https://<host>.us-east-1.amazonaws.com/`` (what the moto
    server dispatches a request for that service to, whatever the URL it arrived on)."""
    import re

    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID

    url = f"https://{host}.us-east-1.amazonaws.com/"
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(url):
            backend = backends.get_backend(service)[DEFAULT_ACCOUNT_ID]["us-east-1"]  # type: ignore[call-overload]
            for path, handler in backend.urls.items():
                if re.compile(path).match(url):
                    return handler
    raise LookupError(f"moto serves no {url}")


TRANSPORT = InProcessMoto()
