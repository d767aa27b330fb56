"""The one place that makes boto3 clients, and chooses which AWS they talk to.

By default the course runs against **moto**, in this process: no AWS account, no Docker, no cost. Lambda handlers
run in separate worker processes (see ``lambdalab.runtime``), so moto is also served on a loopback port, sharing the
same state, and workers reach it through the standard ``AWS_ENDPOINT_URL`` variable, exactly as a real function
would be pointed at LocalStack.

Choose another backend with environment variables, before ``start()``:

=====================  ===================================================================================
``LAMBDALAB_BACKEND``  ``moto`` (default), ``moto-server`` (an external ``moto_server``), ``localstack``, or
                       ``aws`` (real AWS: credentials from the usual chain, e.g. ``AWS_PROFILE``; costs money)
``LAMBDALAB_ENDPOINT``  endpoint URL for ``moto-server`` (default http://127.0.0.1:5000) and ``localstack``
                       (default http://localhost:4566)
``LAMBDALAB_REGION``   region (default ``us-east-1``, or ``AWS_REGION`` for real AWS)
``LAMBDALAB_PREFIX``   required with ``aws``: the name prefix of everything the course creates (``lambdalab.safety``)
=====================  ===================================================================================
"""
from __future__ import annotations

import logging
import os
import threading
import urllib.request
from dataclasses import dataclass

BACKENDS = ("moto", "moto-server", "localstack", "aws")
DEFAULT_ENDPOINTS = {"moto-server": "http://127.0.0.1:5000", "localstack": "http://localhost:4566"}
MOTO_ACCOUNT_ID = "123456789012"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Backend:
    """What ``start()`` brought up: which AWS the course talks to."""

    name: str
    region: str
    account_id: str
    endpoint_url: str | None  # what worker processes (Lambda handlers) use; None = AWS's own endpoints
    in_process: bool  # True when the notebook's own clients call moto without HTTP
    prefix: str = ""  # real AWS: what every name the course creates starts with (lambdalab.safety)

    def __str__(self) -> str:
        where = "in this process" if self.in_process else (self.endpoint_url or "AWS's public endpoints")
        return f"{self.name} backend, region {self.region}, account {self.account_id}, {where}"

    def _repr_markdown_(self) -> str:
        lines = [f"**Backend:** `{self.name}` &nbsp; **Region:** `{self.region}` &nbsp; **Account:** `{self.account_id}`"]
        if self.name == "moto":
            lines.append(f"Emulated by moto in this kernel; Lambda workers reach it at `{self.endpoint_url}`.")
        elif self.name == "aws":
            lines.append("**Real AWS**: calls cost money and change your account.")
        else:
            lines.append(f"Endpoint: `{self.endpoint_url}`")
        return "\n\n".join(lines)


_lock = threading.RLock()
_backend: Backend | None = None
_session = None
_clients: dict[tuple, object] = {}
_mock = None
_server = None
_reset_hooks: list = []
_before_logs_read: list = []


def _config() -> tuple[str, str | None, str]:
    name = os.environ.get("LAMBDALAB_BACKEND", "moto").strip().lower() or "moto"
    if name not in BACKENDS:
        raise ValueError(
            f"LAMBDALAB_BACKEND={name!r} is not a backend this course knows. Use one of {', '.join(BACKENDS)} "
            "(unset it for the default, in-process moto)."
        )
    endpoint = os.environ.get("LAMBDALAB_ENDPOINT") or DEFAULT_ENDPOINTS.get(name)
    default_region = os.environ.get("AWS_REGION", "us-east-1") if name == "aws" else "us-east-1"
    region = os.environ.get("LAMBDALAB_REGION", default_region)
    return name, endpoint, region


def start() -> Backend:
    """Bring up the configured backend (moto by default) and return its description.

    Idempotent: every notebook calls it in its setup cell; the second call returns the same backend and keeps all
    state. Call ``reset()`` to wipe state instead.
    """
    global _backend, _session, _mock, _server
    with _lock:
        if _backend is not None:
            return _backend
        # botocore >= 1.44.4 sends DynamoDB Streams calls to an account-specific endpoint moto does not serve.
        os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
        import boto3

        name, endpoint, region = _config()
        if name == "moto":
            from moto import mock_aws
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            _mock = mock_aws()
            _mock.start()
            _server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            _server.start()
            from . import moto_patches

            moto_patches.apply_all(_server)
            host, port = _server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            _session = boto3.session.Session(region_name=region, **FAKE_CREDENTIALS)
            account = MOTO_ACCOUNT_ID
        elif name in ("moto-server", "localstack"):
            _session = boto3.session.Session(region_name=region, **FAKE_CREDENTIALS)
            account = MOTO_ACCOUNT_ID if name == "moto-server" else "000000000000"
            _check_reachable(name, endpoint)
        else:
            from . import safety

            prefix = safety.prefix_from_environment()
            _session = boto3.session.Session(region_name=region)
            safety.guard(_session, prefix)
            if _session.get_credentials() is None:
                raise RuntimeError(
                    "LAMBDALAB_BACKEND=aws but no AWS credentials were found. Run `aws configure` or set AWS_PROFILE, "
                    "or unset LAMBDALAB_BACKEND to use the free, offline moto backend."
                )
            # the tests' switch: a separate moto server posing as a real account (never set it otherwise)
            endpoint = os.environ.get("LAMBDALAB_AWS_ENDPOINT") or None
            account = _session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]
        _backend = Backend(name, region, account, endpoint, in_process=(name == "moto"),
                           prefix=prefix if name == "aws" else "")
        return _backend


def _check_reachable(name: str, endpoint: str) -> None:
    try:
        urllib.request.urlopen(endpoint, timeout=3).close()
    except urllib.error.HTTPError:
        pass  # it answered
    except OSError as exc:
        hint = "start it with `moto_server -p 5000`" if name == "moto-server" else "start LocalStack (`localstack start`)"
        raise RuntimeError(f"LAMBDALAB_BACKEND={name}: nothing answers at {endpoint} ({exc}); {hint}, "
                           "or set LAMBDALAB_ENDPOINT to where it runs.") from None


def backend() -> Backend:
    """The running backend (starting the default one if needed)."""
    return _backend or start()


def session():
    """The one boto3 Session every lambdalab client comes from."""
    start()
    return _session


def client(service_name: str, **kwargs):
    """A boto3 client for ``service_name`` on the running backend (cached; clients are thread-safe)."""
    b = start()
    key = (service_name, tuple(sorted(kwargs.items())))
    with _lock:
        found = _clients.get(key)
        if found is None:
            if not b.in_process and b.endpoint_url and "endpoint_url" not in kwargs:
                kwargs["endpoint_url"] = b.endpoint_url
            found = _session.client(service_name, **kwargs)
            if service_name == "logs":
                found.meta.events.register("before-call", _flush_before_logs_read)
            _clients[key] = found
        return found


def resource(service_name: str):
    """A boto3 resource (e.g. ``resource("dynamodb").Table(name)``) on the running backend."""
    b = start()
    extra = {} if b.in_process or not b.endpoint_url else {"endpoint_url": b.endpoint_url}
    return _session.resource(service_name, **extra)


def worker_environment() -> dict[str, str]:
    """Environment variables a Lambda worker process needs to reach this backend like a real function would."""
    b = start()
    env = {"AWS_REGION": b.region, "AWS_DEFAULT_REGION": b.region, "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}
    creds = _session.get_credentials().get_frozen_credentials()
    env["AWS_ACCESS_KEY_ID"] = creds.access_key
    env["AWS_SECRET_ACCESS_KEY"] = creds.secret_key
    if creds.token:
        env["AWS_SESSION_TOKEN"] = creds.token
    if b.endpoint_url:
        env["AWS_ENDPOINT_URL"] = b.endpoint_url
    return env


def on_reset(callback) -> None:
    """Register ``callback()`` to run on ``reset()`` (e.g. to forget pending logs or triggers)."""
    if callback not in _reset_hooks:
        _reset_hooks.append(callback)


def before_logs_read(callback) -> None:
    """Register ``callback()`` to run before any CloudWatch Logs call made through ``client("logs")``.

    The runtime uses it to deliver buffered function logs lazily, so a reader never sees them missing.
    """
    if callback not in _before_logs_read:
        _before_logs_read.append(callback)


_flushing = threading.local()


def _flush_before_logs_read(**_):
    if getattr(_flushing, "active", False):
        return
    _flushing.active = True
    try:
        for callback in list(_before_logs_read):
            callback()
    finally:
        _flushing.active = False


def reset() -> None:
    """Wipe every bucket, table, stream, queue, log group... on the emulated backend (moto or LocalStack).

    Refused on real AWS: the course never deletes things from your account.
    """
    b = start()
    if b.name == "aws":
        raise RuntimeError("reset() only works on an emulated backend; on real AWS delete what you created yourself "
                           "(or `sam delete` the course stack).")
    for callback in list(_reset_hooks):
        callback()
    if b.name == "moto":
        _mock.reset()
    elif b.name == "moto-server":
        urllib.request.urlopen(urllib.request.Request(f"{b.endpoint_url}/moto-api/reset", method="POST")).close()
    elif b.name == "localstack":
        urllib.request.urlopen(urllib.request.Request(f"{b.endpoint_url}/_localstack/state/reset", method="POST")).close()
