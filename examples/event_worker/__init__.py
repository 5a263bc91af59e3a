"""Example worker: consumes content requests, publishes a result per request."""
