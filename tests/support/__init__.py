"""What every test tier that needs a cluster or a process shares, and ``bench/`` too.

- :mod:`support.ground`: facts of the local ground (``scripts/lib/ground.env``), the
  state directory and the kubeconfig in use (:func:`~support.ground.kubeconfig_path`).
- :mod:`support.ports`: :func:`~support.ports.free_port`.
- :mod:`support.operator`: the one launcher of ``huleedu-operator run`` as a local
  process (:class:`~support.operator.OperatorProcess`), the namespaces it keeps out of,
  the ``operator`` fixture and helpers to declare HuleEduService resources.
- :mod:`support.kube`: a plain raw-JSON Kubernetes client with list+watch trackers.
- :mod:`support.workload`: N HuleEduService resources and the children they render.
- :mod:`support.controlplane`: stop and start one component of the local control plane.

Tests import it as ``support`` (``tests/`` is on pytest's ``pythonpath``); ``bench/``
as ``tests.support``. Inside the package, imports are relative, so both work.
"""
