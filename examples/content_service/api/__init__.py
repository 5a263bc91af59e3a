"""HTTP API of the content service."""
