"""``huleedu-operator import``: docker compose files -> HuleEduServices and Secret skeletons.

- :mod:`.project`: the plain data passed between the parts.
- :mod:`.load`: the only I/O; reads compose files through the compose library.
- :mod:`.rules`: the rules, pure functions (``convert(project) -> ImportResult``).

The importer may import the API models and the renderer, never the controller.
"""

from huleedu_operator.importer.project import ComposeProject, Finding, ImportResult
from huleedu_operator.importer.rules import convert

__all__ = ["ComposeProject", "Finding", "ImportResult", "convert"]
