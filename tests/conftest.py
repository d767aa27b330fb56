"""Shared fixtures: an emulated AWS backend wiped after each test, progress kept in a temp folder, notebook runner."""
import os
import pathlib
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Never touch the user's own progress database or real AWS from the tests.
os.environ.setdefault("LAMBDALAB_PROGRESS_DIR", tempfile.mkdtemp(prefix="lambdalab-progress-"))
for _var in ("LAMBDALAB_BACKEND", "LAMBDALAB_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(_var, None)
# tests/test_separate_moto_server.py runs some test files again against a moto server in another process
if os.environ.get("LAMBDALAB_TEST_BACKEND"):
    os.environ["LAMBDALAB_BACKEND"] = os.environ["LAMBDALAB_TEST_BACKEND"]
    os.environ["LAMBDALAB_ENDPOINT"] = os.environ["LAMBDALAB_TEST_ENDPOINT"]


@pytest.fixture
def backend():
    """The in-process moto backend, wiped after the test."""
    from lambdalab import aws

    b = aws.start()
    yield b
    aws.reset()


@pytest.fixture
def new_function(backend):
    """new_function(handler, name=..., **settings) -> a LambdaFunction whose environments end with the test."""
    from lambdalab.runtime import LambdaFunction

    created = []

    def make(handler, name="test-fn", **settings):
        function = LambdaFunction(name, handler, **settings)
        created.append(function)
        return function

    yield make
    for function in created:
        function.shutdown()


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(autouse=True)
def _clock_back_to_real_time_on_a_separate_server():
    """A separate server keeps real time: the simulated clock (lambdalab.clock) cannot move it, so a test that
    advanced the clock would leave every later record looking hours old. Start each test at real time there."""
    yield
    if os.environ.get("LAMBDALAB_TEST_BACKEND"):
        from lambdalab import clock

        clock._offset = 0.0
