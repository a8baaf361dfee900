class DataError(ValueError):
    """Input data is missing or malformed; the message names the file and the line."""
