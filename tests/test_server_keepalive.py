"""The loopback moto server keeps connections alive (moto_patches.server_keepalive), safely: HEAD requests, unread
request bodies, chunked bodies and clients that ask to close all leave every response correct."""
import http.client
import socket
import threading
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config
from werkzeug.serving import WSGIRequestHandler, make_server

from lambdalab import aws, moto_patches
from lambdalab.moto_patches import server_keepalive


@pytest.fixture
def server(backend):
    return aws._server


@pytest.fixture
def accepted(server, monkeypatch):
    """How many TCP connections the loopback server accepts during the test."""
    count = [0]
    original = server._server.process_request

    def counting(request, client_address):
        count[0] += 1
        return original(request, client_address)

    monkeypatch.setattr(server._server, "process_request", counting)
    return count


def _raw(server, payload: bytes, methods: list[str]) -> list[http.client.HTTPResponse]:
    """Send ``payload`` on one socket; read one response per method (fewer if the server stops answering)."""
    host, port = server.get_host_and_port()
    with socket.create_connection((host, port), timeout=3) as sock:
        sock.sendall(payload)
        stream = sock.makefile("rb")
        responses = []
        for method in methods:
            kept = SimpleNamespace(read=stream.read, readline=stream.readline, readinto=stream.readinto,
                                   close=lambda: None)  # each response would close the stream when read
            response = http.client.HTTPResponse(SimpleNamespace(makefile=lambda *a, kept=kept, **k: kept), method=method)
            try:
                response.begin()
            except (TimeoutError, http.client.HTTPException):
                break
            response.body = response.read()
            responses.append(response)
        return responses


def test_a_workers_s3_calls_share_one_connection_and_head_works(server, accepted):
    endpoint = aws.backend().endpoint_url
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(max_pool_connections=1))
    s3.create_bucket(Bucket="keepalive")
    for i in range(5):
        body = bytes([i]) * (100_000 + i)
        s3.put_object(Bucket="keepalive", Key=f"k{i}", Body=body)
        assert s3.head_object(Bucket="keepalive", Key=f"k{i}")["ContentLength"] == len(body)
        assert s3.get_object(Bucket="keepalive", Key=f"k{i}")["Body"].read() == body
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket="keepalive", Key="missing")  # a HEAD that fails
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="keepalive", Key="missing")
    s3.delete_object(Bucket="keepalive", Key="k0")
    assert accepted[0] == 1  # 27 requests, one connection


@pytest.fixture
def lazy_server():
    """A server with the same handler over an app that never reads the request body (moto's always does)."""
    def app(environ, start_response):
        path = environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Length", str(len(path)))])
        return [path]

    httpd = make_server("127.0.0.1", 0, app, threaded=True,
                        request_handler=server_keepalive._handler_class(WSGIRequestHandler))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(get_host_and_port=lambda: httpd.server_address[:2])
    httpd.shutdown()


def test_a_body_the_app_does_not_read_is_drained_not_taken_for_the_next_request(lazy_server):
    junk = b"GET /not-a-request HTTP/1.1\r\n\r\n" * 50  # would be answered as requests if left in the stream
    first = f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {len(junk)}\r\n\r\n".encode() + junk
    second = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    responses = _raw(lazy_server, first + second, ["POST", "GET", "GET"])
    assert [r.body for r in responses] == [b"/upload", b"/next"] and not responses[0].will_close


def test_a_chunked_request_body_or_a_client_asking_to_close_ends_the_connection(server):
    host, port = server.get_host_and_port()
    chunked = (f"POST /lambdalab-unknown HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n0\r\n\r\n").encode()
    assert _raw(server, chunked, ["POST"])[0].will_close
    closing = f"HEAD /x HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    assert _raw(server, closing, ["HEAD"])[0].will_close
    old = f"HEAD /x HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode()  # HTTP/1.0: no keep-alive
    assert _raw(server, old, ["HEAD"])[0].will_close


def test_nagle_is_off_so_a_kept_connection_does_not_wait_for_delayed_acks(server):
    assert server._server.RequestHandlerClass.disable_nagle_algorithm is True


def test_the_keepalive_patch_undone_is_reported(server, monkeypatch):
    monkeypatch.setattr(server._server, "RequestHandlerClass", server._server.RequestHandlerClass.__mro__[1])
    with pytest.raises(moto_patches.MotoPatchError, match="server_keepalive"):
        moto_patches.verify_all()
    assert server_keepalive._two_requests_on_one_connection(server) is False
