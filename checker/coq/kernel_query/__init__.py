"""The kernel-query Coq plugin: its source (kernel_query.mlg), its build, and reading its answers."""
