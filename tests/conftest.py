"""Fixtures shared across tiers (the operator harness needs the integration fixtures
``kubectl``/``kubeconfig``/``wait_until``, so only integration tests can use it)."""

pytest_plugins = ["operator_harness"]
