"""Benchmark scripts, and the settings and routes that only the poll benchmark serves."""
