"""One error family. Every domain error says what went wrong and what a person can do about it."""

from __future__ import annotations


class SiyuError(Exception):
    """Base of every error Siyu raises on purpose; ``status`` is the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(SiyuError):
    status = 404


class Conflict(SiyuError):
    status = 409


class Unauthorized(SiyuError):
    status = 401


class Forbidden(SiyuError):
    status = 403


class InvalidInput(SiyuError):
    status = 422


class UnreadableFile(SiyuError):
    """A file that cannot be imported at all: nothing from it (or its batch) is written."""

    status = 422

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ConfigurationError(SiyuError):
    status = 500


class BadSignature(SiyuError):
    """A push or callback whose signature does not match: refused before its body is read."""

    status = 401


class NotConfigured(SiyuError):
    status = 503
