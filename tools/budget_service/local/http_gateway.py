"""The HTTP API on 127.0.0.1: requests become API Gateway HTTP API payload 2.0 events for the
function the template routes them to, after the JWT checks of the authorizer."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from budget_service.local.functions import FunctionError, LocalFunction
from budget_service.local.tokens import InvalidToken, TokenVerifier, gateway_claims
from budget_service.templates.provision import ACCOUNT_ID

API_ID = "local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # /v1/policies/{policy_id}
    function_id: str
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def template_routes(template: Mapping[str, Any]) -> list[Route]:
    routes = []
    for logical_id, body in template.get("Resources", {}).items():
        if body.get("Type") != "AWS::Serverless::Function":
            continue
        for event in body.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event["Properties"]
            path = str(props["Path"])
            regex = "^" + re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
            routes.append(Route(str(props["Method"]).upper(), path, logical_id, re.compile(regex)))
    return routes


def payload_v2(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    target: str,
    headers: Mapping[str, str] | list[tuple[str, str]],
    body: bytes,
    claims: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    parts = urlsplit(target)
    now = datetime.now(UTC)
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value  # as API Gateway joins them
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        key = name.lower()
        if key == "cookie":  # payload 2.0 moves cookies out of the headers
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = text
    return event


class LocalHttpApi:
    def __init__(
        self,
        routes: list[Route],
        functions: Mapping[str, LocalFunction],
        verifier: TokenVerifier,
        port: int,
        log: Any = None,
    ) -> None:
        self.routes = routes
        self.functions = functions
        self.verifier = verifier
        self.log = log or (lambda message: None)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | list[tuple[str, str]],
        body: bytes,
        ip: str,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) as API Gateway would answer."""
        path = urlsplit(target).path
        chosen = next(
            ((r, m) for r in self.routes if r.method == method and (m := r.pattern.match(path))), None
        )
        if chosen is None:
            return _message(HTTPStatus.NOT_FOUND, "Not Found")
        route, match = chosen
        try:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            authorization = next((v for k, v in pairs if k.lower() == "authorization"), None)
            claims = gateway_claims(self.verifier.claims(authorization))
        except InvalidToken:
            return _message(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        if len(body) > MAX_BODY_BYTES:
            return _message(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
        event = payload_v2(route, match.groupdict(), method, target, headers, body, claims, ip)
        started = time.perf_counter()
        try:
            result = self.functions[route.function_id].invoke(event)
        except FunctionError as error:
            self.log(f"[api] {route.key}: the function raised: {error}")
            return _message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        try:
            status, response_headers, payload = _lambda_response(result)
        except (TypeError, ValueError, KeyError) as error:
            self.log(f"[api] {route.key}: the function's answer is not a valid response: {error}")
            return _message(HTTPStatus.BAD_GATEWAY, "Internal Server Error")
        self.log(f"[api] {method} {target} -> {status} ({(time.perf_counter() - started) * 1000:.0f} ms)")
        return status, response_headers, payload

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as separate writes: with Nagle on, each keep-alive answer
            # waited ~40 ms for the client's delayed ACK
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                    if length < 0 or self.headers.get("transfer-encoding"):
                        raise ValueError("no chunked bodies")
                except ValueError:
                    status, headers, payload = _message(HTTPStatus.BAD_REQUEST, "Bad Request")
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    status, headers, payload = api.answer(
                        self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _message(status: HTTPStatus, text: str) -> tuple[int, dict[str, str], bytes]:
    return int(status), {"content-type": "application/json"}, json.dumps({"message": text}).encode()


def _lambda_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Payload 2.0 response mapping: a dict with statusCode, or anything else as a 200 JSON body."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, payload
