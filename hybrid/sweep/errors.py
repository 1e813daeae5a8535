"""The sweep's one-line error: bad input the user can fix (the CLI prints it and exits 2)."""


class SweepError(ValueError):
    """A bad space, objective, window or Ray address; the message names the key or address and what is valid."""
