"""Benchmarks of the operator on the local control plane (``python -m bench``).

Also home of the small cluster harness (:mod:`bench.kube`, :mod:`bench.operator`,
:mod:`bench.workload`, :mod:`bench.controlplane`) that the fault-injection tests in
``tests/faults`` drive the same way.
"""
