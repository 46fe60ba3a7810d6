"""The test suite, a package so that its helpers (the recorded-answer stand-ins) import relatively, from anywhere."""
