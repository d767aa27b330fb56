"""lambdalab.triggers shows its public names to the tools (dir, Tab completion, go-to-definition), and the triggers
rely on the runtime through one declared contract (runtime.InvokeTarget), checked in one place."""
import importlib
import typing

import pytest

import lambdalab.triggers as triggers
from lambdalab import runtime
from lambdalab.runtime import INVOKE_TARGET_MEMBERS, InvokeTarget, LambdaFunction, Status, check_invoke_target
from lambdalab.triggers.async_invoke import DeliveryOutcome
from lambdalab.triggers.esm.states import BatchKind, Outcome


def test_public_names_are_real_attributes_that_dir_lists():
    for name in triggers.__all__:
        assert name in dir(triggers) and callable(vars(triggers)[name]), name
    assert {"connect_s3", "connect_kinesis", "connect_dynamodb_stream"} <= set(triggers.__all__)
    for name in triggers.__all__:  # each name's definition lives in the module the tools jump to
        assert getattr(triggers, name).__module__.startswith("lambdalab.triggers."), name


def test_eventbridge_names_appear_exactly_when_the_module_exists():
    present = importlib.util.find_spec("lambdalab.triggers.eventbridge") is not None
    assert ("connect_rule" in triggers.__all__) == present == ("test_pattern" in triggers.__all__)


def test_the_invoke_target_contract_is_the_protocol_and_lambda_function_meets_it():
    assert set(INVOKE_TARGET_MEMBERS) == set(typing._get_protocol_attrs(InvokeTarget))
    for name in INVOKE_TARGET_MEMBERS:
        assert hasattr(LambdaFunction, name) or name in LambdaFunction.__init__.__code__.co_names, name


@pytest.mark.parametrize("connect, args", [
    ("connect_s3", ("a-bucket",)), ("connect_kinesis", ("a-stream",)), ("connect_dynamodb_stream", ("a-table",)),
    ("connect_rule", ("a-rule",))])
def test_every_trigger_refuses_a_non_function_the_same_way(backend, connect, args):
    with pytest.raises(TypeError, match=r"must be a lambdalab.runtime.LambdaFunction, not function \(it has no "
                                        r"name, arn, role_arn, invoke, invoke_concurrently\)"):
        getattr(triggers, connect)(*args, lambda event, context: None)


def test_a_stand_in_with_every_member_passes_and_one_missing_member_is_named():
    class StandIn:
        name, arn, role_arn = "f", "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:iam::1:role/r"

        def invoke(self, event=None, *, request_id=None): ...

        def invoke_concurrently(self, events): ...

    stand_in = StandIn()
    assert check_invoke_target(stand_in) is stand_in
    del StandIn.invoke_concurrently
    with pytest.raises(TypeError, match=r"has no invoke_concurrently\)"):
        check_invoke_target(StandIn())


def test_state_names_are_enums_that_read_and_compare_as_their_words():
    assert Outcome.OK == "ok" and BatchKind.PARTIAL_RETRY == "partial-retry" and DeliveryOutcome.LOOP_STOPPED == (
        "loop-stopped")
    assert repr(Status.TIMEOUT) == "'timeout'" and f"{Outcome.INVALID}" == "invalid"
    assert Outcome.of_failed(Status.KILLED) is Outcome.KILLED and Outcome.of_failed("error") is Outcome.ERROR
    assert runtime.Invocation("f", "r", status="timeout").status is Status.TIMEOUT
    with pytest.raises(ValueError):
        runtime.Invocation("f", "r", status="exploded")
