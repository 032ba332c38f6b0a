"""The two errors a user can cause: an unusable input file and an unusable model folder.

Both are ``ValueError``s whose message is one line saying what was expected and what was found; the command
line turns them into that line on stderr and exit code 2.
"""


class InputError(ValueError):
    """The input file cannot be used; the message says what was expected and what was found."""


class ModelError(ValueError):
    """A model directory is missing, incomplete, tampered with or of an unknown format."""
