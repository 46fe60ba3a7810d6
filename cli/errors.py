from typing import Any


class UsageError(Exception):
    """Bad input from the user: printed as one line naming the input, exit status 2."""


def checker_settings(options: dict[str, tuple[str, object]]):
    """CheckerSettings from the PROOFSMITH_* variables and the command line's overrides.

    `options` maps a setting to (the option that gave it, its value); None
    values are left to the defaults. A bad value is a one-line UsageError
    naming the option, or the variable when the value came from one.
    """
    from pydantic import ValidationError

    from proofsmith.checker.settings import CheckerSettings

    # values of any type: CheckerSettings validates them, and a bad one is the ValidationError below
    given: dict[str, Any] = {field: value for field, (_, value) in options.items() if value is not None}
    try:
        return CheckerSettings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            source = options[field][0] if field in given else f"PROOFSMITH_{field.upper()}"
            message = error["msg"].removeprefix("Input ").removeprefix("Value error, ")
            problems.append(f"{source}={error.get('input')}: {message}")
        raise UsageError("; ".join(problems)) from None
