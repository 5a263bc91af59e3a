"""Why a resource could not be rendered."""

from __future__ import annotations


class RenderError(ValueError):
    """The resource passed validation but cannot be turned into children.

    ``field`` is the path of the offending field (``spec.kafka.bootstrapServers``) so
    the operator's Degraded condition and the CLI can both name it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RenderWarning(str):
    """Something the resource asks for that cannot be honoured as asked; it is rendered
    the nearest safe way and the controller reports it as a non-blocking Degraded
    condition with :attr:`reason`. A ``str`` (its message), so it prints as one."""

    reason: str

    def __new__(cls, message: str, reason: str) -> RenderWarning:
        warning = super().__new__(cls, message)
        warning.reason = reason
        return warning
