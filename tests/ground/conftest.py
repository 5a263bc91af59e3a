"""The ground suite needs nothing but root and the scripts; no cluster fixture."""
