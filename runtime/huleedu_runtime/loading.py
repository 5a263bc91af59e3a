"""Resolve ``module:attribute`` import paths given on the command line.

The base image starts any service the same way (``huleedu-runtime serve-http
pkg.app:app``), so the runtime must import the service's code by name. Like
uvicorn and gunicorn it puts the working directory (``--app-dir``) on
``sys.path`` first: a console script's ``sys.path`` starts at its own bin/.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


class ImportPathError(Exception):
    """The import path is malformed or names nothing."""


def import_object(import_path: str, app_dir: str | Path = ".") -> object:
    module_name, sep, attribute = import_path.partition(":")
    if not sep or not module_name or not attribute:
        raise ImportPathError(
            f"{import_path!r}: expected 'package.module:attribute', e.g. 'content_service.app:app'"
        )
    directory = str(Path(app_dir).resolve())
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ImportPathError(
                f"{import_path!r}: no module {exc.name!r} under {directory} or on sys.path; "
                "run from the service's root or pass --app-dir"
            ) from exc
        raise
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ImportPathError(
                f"{import_path!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return target
