"""Clients shared by the tests and the benchmarks (importable as ``utils`` with tests/ on the path)."""
