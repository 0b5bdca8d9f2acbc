"""The one exception type for mistakes a user can fix; the CLI turns it into exit code 2."""


class HarnessError(Exception):
    """A user-facing error: one line that says what is wrong and what to do."""
