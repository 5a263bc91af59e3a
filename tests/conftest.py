"""Fixtures shared across tiers (``tests/support``; the operator fixtures need the
integration fixtures ``kubectl``/``kubeconfig``/``wait_until``, so only integration
tests can use them)."""

pytest_plugins = ["support.operator"]
