"""The event source mapping engine behind ``connect_kinesis`` and ``connect_dynamodb_stream``.

- ``records``: stream records in the exact shapes Lambda puts in ``event["Records"]``, and the on-failure message.
- ``sources``: reading Kinesis and DynamoDB Streams through their real APIs (GetShardIterator / GetRecords).
- ``filters``: FilterCriteria, matched with moto's EventBridge pattern matcher.
- ``engine``: the poller: batches, order, retries, bisect, partial batch responses, windows, destinations.
- ``result``: what ``drain()`` returns; ``timeline``: its picture.
"""
