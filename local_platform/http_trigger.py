"""HTTP triggers as the Functions host serves them: routes from the indexed bindings, `func.HttpRequest` in,
`func.HttpResponse` out.

A function is reached at `/<routePrefix>/<route>` (the route defaults to the function's name); `{name}` takes one
path segment, `{name?}` may be left out (and is then absent from `route_params`), `{name:constraint}` constraints
are not checked. Matching ignores case, as ASP.NET routing does. Methods are the binding's `methods` (none = all);
anything else is 404. Header names reach the function lower-cased, repeated headers joined with ", ".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from local_platform.functions_index import IndexedFunction, IndexingError

__all__ = ["HttpReply", "Route", "RouteTable", "build_request", "reply_of"]

_PARAMETER = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}$")


@dataclass(frozen=True)
class Route:
    function: IndexedFunction
    pattern: re.Pattern[str]
    methods: frozenset[str] | None  # None: every method
    template: str


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _compile(prefix: str, template: str, where: str) -> re.Pattern[str]:
    segments = [s for s in f"{prefix}/{template}".split("/") if s]
    regex = ""
    for segment in segments:
        parameter = _PARAMETER.match(segment)
        if parameter is None:
            if "{" in segment or "}" in segment:
                raise IndexingError(f"{where}: route segment {segment!r} is not supported by the local host")
            regex += "/" + re.escape(segment)
            continue
        catch_all, name, optional = parameter.groups()
        body = f"(?P<{name}>.+)" if catch_all else f"(?P<{name}>[^/]+)"
        regex += f"(?:/{body})?" if optional or catch_all else f"/{body}"
    return re.compile(f"^{regex}/?$", re.IGNORECASE)


class RouteTable:
    """Every HTTP-triggered function of the app, matched by path and method."""

    def __init__(self, functions: Iterable[IndexedFunction], route_prefix: str) -> None:
        self.routes: list[Route] = []
        for function in functions:
            trigger = function.trigger
            if trigger.get("type") != "httpTrigger":
                continue
            template = str(trigger.get("route") or function.name).strip("/")
            methods = trigger.get("methods")
            self.routes.append(
                Route(
                    function=function,
                    pattern=_compile(route_prefix, template, f"function {function.name!r}"),
                    methods=frozenset(str(m).upper() for m in methods) if methods else None,
                    template=f"/{route_prefix}/{template}".replace("//", "/"),
                )
            )

    def match(self, method: str, path: str) -> tuple[IndexedFunction, dict[str, str]] | None:
        """The function serving `method path` and its route parameters (a missing optional one absent), or None."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None or (route.methods is not None and method.upper() not in route.methods):
                continue
            params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
            return route.function, params
        return None


def build_request(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes, route_params: dict[str, str]
) -> func.HttpRequest:
    """The request as the worker hands it to the function."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    params: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return func.HttpRequest(method.upper(), url, headers=joined, params=params, route_params=route_params, body=body)


def reply_of(result: Any) -> HttpReply:
    """What the host answers for the function's `$return` value.

    :raises TypeError: a value the HTTP output binding cannot send (the host answers 500).
    """
    if isinstance(result, str):
        return HttpReply(200, [("Content-Type", "text/plain; charset=utf-8")], result.encode("utf-8"))
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"an HTTP function must return func.HttpResponse, not {type(result).__name__}")
    headers = list(result.headers.items())
    if not any(name.lower() == "content-type" for name, _ in headers):
        mimetype = result.mimetype
        headers.append(("Content-Type", f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/")
                        else mimetype))  # fmt: skip
    return HttpReply(result.status_code, headers, result.get_body() or b"")
