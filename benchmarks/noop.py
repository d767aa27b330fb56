"""A handler that does nothing: what the runtime itself costs."""


def handler(event, context):
    return None
