"""Errors the command line reports as one line, without a traceback."""


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""
