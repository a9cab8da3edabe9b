"""Indexing a Python v2 function app as the Python worker and the Functions host do, and refusing what they refuse.

The worker imports the script (`function_app.py`, with the script root on `sys.path`), takes its one
`FunctionRegister` instance and asks the azure-functions library for `get_functions()`; for each function it sends
the host `get_function_name()` and `get_raw_bindings()` (JSON strings). The host then checks names and bindings and
refuses to start the app on the first problem. `index_script` does the same and raises `IndexingError` naming the
function and binding at fault. Binding expressions `%NAME%` are resolved from the app settings, as the host does.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BINDING_NAME",
    "FUNCTION_NAME",
    "IndexedFunction",
    "IndexingError",
    "index_app",
    "index_script",
    "load_app",
    "validate_function",
]

FUNCTION_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,127}$", re.IGNORECASE)
BINDING_NAME = re.compile(r"^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$")
_EXPRESSION = re.compile(r"%([^%]+)%")


class IndexingError(ValueError):
    """The app would not start under the Functions host: the message names the function and binding at fault."""


@dataclass(frozen=True)
class IndexedFunction:
    """One function as the host knows it: its bindings (as sent by the worker) and the Python callable."""

    name: str
    bindings: tuple[dict[str, Any], ...]
    user_function: Callable[..., Any]

    @property
    def trigger(self) -> dict[str, Any]:
        return next(b for b in self.bindings if _is_trigger(b))

    @property
    def outputs(self) -> tuple[dict[str, Any], ...]:
        """Output bindings passed to the function as `func.Out` parameters (not `$return`)."""
        return tuple(b for b in self.bindings if _direction(b) == "out" and b["name"] != "$return")

    @property
    def return_binding(self) -> dict[str, Any] | None:
        return next((b for b in self.bindings if b["name"] == "$return"), None)


def _is_trigger(binding: Mapping[str, Any]) -> bool:
    return str(binding.get("type", "")).lower().endswith("trigger")


def _direction(binding: Mapping[str, Any]) -> str:
    return str(binding.get("direction", "")).lower()


def load_app(script_root: Path, file_name: str = "function_app.py") -> Any:
    """Import the script as the worker does and return its one function app (`FunctionRegister`) instance."""
    from azure.functions import FunctionRegister

    root = str(script_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module(Path(file_name).stem)
    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if len(apps) != 1:
        raise IndexingError(f"{file_name} must define exactly one top-level function app; found {len(apps)}")
    return apps[0]


def _resolve(value: Any, settings: Mapping[str, str], where: str) -> Any:
    if not isinstance(value, str):
        return value

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise IndexingError(f"{where}: binding expression %{name}% names an app setting that is not set")
        return settings[name]

    return _EXPRESSION.sub(setting, value)


def validate_function(name: str, bindings: list[dict[str, Any]], user_function: Callable[..., Any] | None) -> None:
    """The host's checks of one function (and the worker's check that parameters and bindings match).

    :raises IndexingError: naming the function and the binding at fault.
    """
    if not FUNCTION_NAME.match(name):
        raise IndexingError(f"function name {name!r} is invalid: it must match {FUNCTION_NAME.pattern}")
    seen: set[str] = set()
    for binding in bindings:
        binding_name = str(binding.get("name", ""))
        if not BINDING_NAME.match(binding_name):
            raise IndexingError(
                f"function {name!r}: binding name {binding_name!r} is invalid: it must match {BINDING_NAME.pattern}"
            )
        if binding_name.lower() in seen:
            raise IndexingError(f"function {name!r}: binding name {binding_name!r} is used more than once")
        seen.add(binding_name.lower())
    triggers = [b["name"] for b in bindings if _is_trigger(b)]
    if len(triggers) != 1:
        raise IndexingError(f"function {name!r} must have exactly one trigger binding; found {triggers or 'none'}")
    if user_function is not None:
        _check_parameters(name, bindings, user_function)


def _check_parameters(name: str, bindings: list[dict[str, Any]], user_function: Callable[..., Any]) -> None:
    """The worker's checks: one parameter per binding, and `func.Out` exactly on the output bindings."""
    parameters = set(inspect.signature(user_function).parameters)  # `context` is not offered by this host
    bound = {b["name"] for b in bindings} - {"$return"}
    if parameters != bound:
        raise IndexingError(f"function {name!r}: parameters {sorted(parameters)} do not match bindings {sorted(bound)}")
    hints = typing.get_type_hints(user_function)
    for binding in bindings:
        if binding["name"] not in hints:
            continue
        annotation = hints[binding["name"]]
        is_out = getattr(typing.get_origin(annotation) or annotation, "__name__", None) == "Out"
        if _direction(binding) == "out" and not is_out:
            raise IndexingError(
                f"function {name!r}: binding {binding['name']!r} is an output binding, but its annotation is not "
                "azure.functions.Out"
            )
        if _direction(binding) != "out" and is_out:
            raise IndexingError(
                f"function {name!r}: binding {binding['name']!r} is an input binding, but is annotated "
                "azure.functions.Out"
            )


def index_app(app: Any, settings: Mapping[str, str]) -> list[IndexedFunction]:
    """Index a function app with the library's own API and validate it as the host does.

    :raises IndexingError: the library refused the app, or the host would.
    """
    try:
        functions = app.get_functions()
    except ValueError as exc:  # the library's own checks (no trigger, two triggers, duplicate names)
        raise IndexingError(str(exc)) from None
    indexed: list[IndexedFunction] = []
    names: set[str] = set()
    for function in functions:
        name = function.get_function_name()
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        user_function = function.get_user_function()
        validate_function(name, bindings, user_function)
        if name.lower() in names:
            raise IndexingError(f"function name {name!r} is used more than once")
        names.add(name.lower())
        resolved = tuple(
            {k: _resolve(v, settings, f"function {name!r}, binding {b['name']!r}") for k, v in b.items()}
            for b in bindings
        )
        indexed.append(IndexedFunction(name=name, bindings=resolved, user_function=user_function))
    if not indexed:
        raise IndexingError("the function app defines no functions")
    return indexed


def index_script(
    script_root: Path, settings: Mapping[str, str], file_name: str = "function_app.py"
) -> list[IndexedFunction]:
    """Import `script_root/file_name` and index its app (errors raised while importing propagate unchanged)."""
    return index_app(load_app(script_root, file_name), settings)
