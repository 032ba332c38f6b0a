"""The errors a user can cause. The command line shows them as one line on stderr and exits with code 2;
any other exception is a bug in complaint-router and is reported as one (exit 1, traceback with ``--debug``).

All are ``ValueError``s (or the matching built-in error) whose message is one line saying what was expected,
what was found and, where there is one, the fix.
"""


class UserError(ValueError):
    """Base of the errors caused by what the user gave: a file, a model folder, an option."""


class InputError(UserError):
    """An input file (or table) cannot be used."""


class MissingFileError(InputError, FileNotFoundError):
    """A file the user named does not exist."""


class ModelError(UserError):
    """A model directory is missing, incomplete, tampered with or of an unknown format."""


class ConfigError(UserError):
    """A setting is out of range or unknown."""


class MissingDependencyError(UserError, ImportError):
    """An optional dependency (an extra such as ``[bert]``) is not installed; the message gives the command."""
