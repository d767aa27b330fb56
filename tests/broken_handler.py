"""A module whose init code raises, like a function with a bad import at the top."""
raise RuntimeError("init failed: missing configuration")


def handler(event, context):
    return "never"
