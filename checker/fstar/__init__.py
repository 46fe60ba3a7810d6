"""The F* backend: `fstar.exe --ide` program-fragment checking (see checker.fstar.session)."""
