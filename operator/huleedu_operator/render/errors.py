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
