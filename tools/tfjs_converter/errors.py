"""The error the converter reports for bad input."""


class ConversionError(Exception):
    """Bad input: the message names the problem and, where there is one, the fix.

    The command line prints the message alone, without a traceback; any other
    exception is a bug and is printed with its traceback.
    """
