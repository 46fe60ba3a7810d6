class UsageError(Exception):
    """Bad input from the user: printed as one line naming the input, exit status 2."""
