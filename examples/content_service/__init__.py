"""Example http service: stores and returns text content (the HuleEdu content service pattern)."""
