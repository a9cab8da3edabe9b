"""The renderer's one exception: an HTTP status and a short message that is safe to send to the client."""

from __future__ import annotations

__all__ = ["RenderError"]


class RenderError(Exception):
    """A request the renderer refuses, with imgix's status code for the case.

    The message goes into a `text/plain` response body as it is: it never holds a secret or a stack trace.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def __repr__(self) -> str:
        return f"RenderError({self.status!r}, {self.message!r})"
