"""The one error type for bad retrieval input: missing files, schema violations, wrong settings.

Its messages name the input and what is wrong with it; the CLI prints them as
one line (exit status 2).
"""


class RetrievalInputError(ValueError):
    pass
