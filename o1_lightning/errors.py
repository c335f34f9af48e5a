"""User-facing errors: one line naming the bad value and what is allowed."""


class O1Error(ValueError):
    """A bad input (config value, prompt, checkpoint) reported to the user in one line, without a traceback."""
