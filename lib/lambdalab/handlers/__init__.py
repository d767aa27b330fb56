"""The course's three real Lambda functions. Each module is plain Lambda code (boto3, Pillow, the standard library)
and imports nothing else from lambdalab, so it deploys to AWS unchanged."""
