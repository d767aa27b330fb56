"""A clickstream producer: realistic synthetic web traffic put on a Kinesis stream, with the ground truth kept.

    truth = send_clicks("clicks", clicks=2_000, rate_per_s=200, malformed=0.02, hot_key=0.3, seed=1)
    truth.page_minutes      # Counter {(page, minute): clicks}: what page_clicks must hold once the stream is processed
    truth.records_per_shard # Counter {shard id: records}: how the partition keys spread the load

Users come back in sessions and move through a shop (home, search, products, cart, checkout); each click is JSON
``{"user", "session", "page", "ts", "referrer"}`` put with the user as its partition key, so one user's clicks stay in
order on one shard. ``ts`` follows the simulated clock (``lambdalab.clock``), which advances as the clicks are sent at
``rate_per_s``. ``malformed`` is the share of records that are not valid clicks (broken JSON, no user, no page, a
bad timestamp); ``hot_key`` is the share of clicks sent by one very busy partition key (a bot), which makes one shard
hot.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import aws, clock

PAGES = ("/home", "/search", "/products/1", "/products/2", "/products/3", "/products/4", "/cart", "/checkout")
NEXT_PAGE = {  # where a shopper goes from each page (the rest of the time the session ends)
    None: {"/home": 6, "/search": 2, "/products/1": 1, "/products/2": 1},
    "/home": {"/search": 4, "/products/1": 3, "/products/2": 2, "/products/3": 1},
    "/search": {"/products/1": 2, "/products/2": 2, "/products/3": 3, "/products/4": 3, "/search": 1},
    "/products/1": {"/cart": 2, "/products/2": 2, "/search": 2, "/home": 1},
    "/products/2": {"/cart": 2, "/products/3": 2, "/search": 2},
    "/products/3": {"/cart": 3, "/products/4": 1, "/search": 2},
    "/products/4": {"/cart": 1, "/home": 2, "/search": 1},
    "/cart": {"/checkout": 3, "/products/1": 1, "/home": 1},
    "/checkout": {"/home": 1},
}
SESSION_END = 0.12  # chance that a session ends after any click
HOT_KEY = "bot-9000"
MALFORMED_KINDS = ("not JSON", "a JSON list", "no user", "no page", "page not a path", "bad ts")
PUT_RECORDS_LIMIT = 500


@dataclass
class Traffic:
    """What the producer sent: the ground truth a pipeline's output is compared with."""

    stream: str
    page_minutes: Counter = field(default_factory=Counter)  # (page, "YYYY-MM-DDTHH:MM") -> valid clicks
    records_per_shard: Counter = field(default_factory=Counter)  # shard id -> records (valid or not)
    records_per_key: Counter = field(default_factory=Counter)  # partition key -> records
    malformed: Counter = field(default_factory=Counter)  # kind -> records
    sequence_numbers: list = field(default_factory=list)  # (shard id, sequence number, valid), in put order
    first_ts: float | None = None
    last_ts: float | None = None

    @property
    def valid(self) -> int:
        return sum(self.page_minutes.values())

    @property
    def records(self) -> int:
        return len(self.sequence_numbers)

    def rows(self) -> list:
        """``[(page, minute, clicks), ...]`` sorted: what ``SELECT ... FROM page_clicks ORDER BY page, minute`` gives."""
        return sorted((page, minute, n) for (page, minute), n in self.page_minutes.items())

    def per_page(self) -> Counter:
        out = Counter()
        for (page, _), n in self.page_minutes.items():
            out[page] += n
        return out

    def absorb(self, other: "Traffic") -> "Traffic":
        """Add another send's truth to this one (several sends to one stream)."""
        self.page_minutes += other.page_minutes
        self.records_per_shard += other.records_per_shard
        self.records_per_key += other.records_per_key
        self.malformed += other.malformed
        self.sequence_numbers += other.sequence_numbers
        self.first_ts = min(t for t in (self.first_ts, other.first_ts) if t is not None)
        self.last_ts = max(t for t in (self.last_ts, other.last_ts) if t is not None)
        return self

    def __repr__(self):
        bad = sum(self.malformed.values())
        return (f"<Traffic on {self.stream}: {self.records} records ({self.valid} clicks, {bad} malformed) over "
                f"{len(self.records_per_shard)} shards {dict(sorted(self.records_per_shard.items()))}>")

    def plot(self, ax=None):
        """Records per shard as bars: a hot partition key shows as one tall bar."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3))
        shards = sorted(self.records_per_shard)
        ax.bar([f"shard {int(s.rsplit('-', 1)[-1])}" for s in shards],
               [self.records_per_shard[s] for s in shards], color="#4c72b0")
        ax.set_title(f"Records per shard on stream {self.stream}")
        ax.set_xlabel("shard")
        ax.set_ylabel("records")
        ax.figure.tight_layout()
        return ax.figure


class _Shopper:
    """One user: the session they are in and the page they are on."""

    def __init__(self, user: str):
        self.user, self.session, self.page, self.sessions = user, None, None, 0

    def click(self, rng: random.Random) -> tuple[str, str, str | None]:
        if self.session is None or rng.random() < SESSION_END:
            self.sessions += 1
            self.session, self.page = f"{self.user}-s{self.sessions}", None
        referrer = self.page
        choices = NEXT_PAGE[self.page]
        self.page = rng.choices(list(choices), weights=list(choices.values()))[0]
        return self.session, self.page, referrer


def minute_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M")


def malformed_click(kind: str, click: dict) -> bytes:
    """A record that is not a valid click, of the given kind."""
    if kind == "not JSON":
        return json.dumps(click).encode()[:-7]  # cut off mid-record, as a crashed writer leaves it
    if kind == "a JSON list":
        return json.dumps([click["user"], click["page"]]).encode()
    if kind == "bad ts":
        return json.dumps({**click, "ts": "yesterday"}).encode()
    broken = dict(click)
    if kind == "no user":
        del broken["user"]
    elif kind == "no page":
        del broken["page"]
    else:
        broken["page"] = broken["page"].lstrip("/")
    return json.dumps(broken).encode()


def send_clicks(stream: str, clicks: int = 1_000, *, users: int = 50, rate_per_s: float = 100.0,
                malformed: float = 0.0, hot_key: float = 0.0, seed: int = 0) -> Traffic:
    """Put ``clicks`` records on ``stream`` at ``rate_per_s`` (simulated time) and return the ground truth.

    ``malformed`` (0 to 1) is the share of records that are not valid clicks; ``hot_key`` (0 to 1) the share of
    records sent by one busy partition key (``bot-9000``); ``users`` how many shoppers share the rest (a few are far
    busier than the others, as on a real site); ``seed`` makes the traffic repeatable.
    """
    for name, value in (("malformed", malformed), ("hot_key", hot_key)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name} is a share of the records, from 0 to 1; got {value!r}.")
    if isinstance(clicks, bool) or not isinstance(clicks, int) or clicks < 0:
        raise ValueError(f"clicks must be a whole number of records (0 or more); got {clicks!r}.")
    if not isinstance(rate_per_s, (int, float)) or rate_per_s <= 0:
        raise ValueError(f"rate_per_s must be a positive number of records per second; got {rate_per_s!r}.")
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be a whole number, at least 1; got {users!r}.")
    rng = random.Random(seed)
    shoppers = [_Shopper(f"user-{n:03d}") for n in range(users)]
    weights = [1 / (rank + 1) for rank in range(users)]  # Zipf-like: user-000 is the busiest
    bot = _Shopper(HOT_KEY)
    truth = Traffic(stream)
    kinesis = aws.client("kinesis")
    pending, sent_in_second = [], 0
    for _ in range(clicks):
        shopper = bot if rng.random() < hot_key else rng.choices(shoppers, weights=weights)[0]
        ts = round(clock.now() + rng.random() * 0.999, 3)
        session, page, referrer = shopper.click(rng)
        click = {"user": shopper.user, "session": session, "page": page, "ts": ts, "referrer": referrer}
        kind = rng.choice(MALFORMED_KINDS) if rng.random() < malformed else None
        data = malformed_click(kind, click) if kind else json.dumps(click).encode()
        pending.append(({"Data": data, "PartitionKey": shopper.user}, None if kind else (page, minute_of(ts)), kind))
        truth.first_ts = ts if truth.first_ts is None else min(truth.first_ts, ts)
        truth.last_ts = ts if truth.last_ts is None else max(truth.last_ts, ts)
        sent_in_second += 1
        if len(pending) == PUT_RECORDS_LIMIT or sent_in_second >= rate_per_s:
            _put(kinesis, stream, pending, truth)
            pending = []
        if sent_in_second >= rate_per_s:  # a second's worth sent: time moves on
            clock.advance(1)
            sent_in_second = 0
    _put(kinesis, stream, pending, truth)
    return truth


def _put(kinesis, stream: str, pending: list, truth: Traffic) -> None:
    """PutRecords in order, retrying the entries Kinesis refused (throttling), and record where each one went."""
    while pending:
        answer = kinesis.put_records(StreamName=stream, Records=[entry for entry, _, _ in pending])
        retry = []
        for (entry, valid, kind), result in zip(pending, answer["Records"]):
            if "ErrorCode" in result:
                retry.append((entry, valid, kind))
                continue
            truth.records_per_shard[result["ShardId"]] += 1
            truth.records_per_key[entry["PartitionKey"]] += 1
            truth.sequence_numbers.append((result["ShardId"], result["SequenceNumber"], valid is not None))
            if valid is None:
                truth.malformed[kind] += 1
            else:
                truth.page_minutes[valid] += 1
        if retry:
            clock.advance(1)  # back off, as the SDK does, before sending the refused ones again
        pending = retry
