"""HuleEdu service runtime: the implementation patterns as a library.

An http service is a Quart app wired by :func:`huleedu_runtime.http.setup_service`;
a worker is a :class:`huleedu_runtime.worker.WorkerService` driving an event
processor. Both read :class:`huleedu_runtime.config.ServiceSettings`.

This module imports nothing on purpose: the operator imports
:mod:`huleedu_runtime.contract` without the runtime's extras installed, and
importing a package runs its ``__init__`` first.
"""
