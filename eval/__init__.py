"""Benchmarks, the resumable evaluation runner, pass@k, reports and the CLI."""
