"""The event source mapping settings table: one declaration per setting drives keywords, checks, describe and repr."""
import inspect

import pytest

from lambdalab import aws, clock
from lambdalab.triggers import connect_dynamodb_stream, connect_kinesis
from lambdalab.triggers.esm import settings as table
from lambdalab.triggers.esm.engine import Settings
from lambdalab.triggers.esm.records import DYNAMODB, KINESIS


@pytest.fixture
def stream(backend):
    aws.client("kinesis").create_stream(StreamName="settings", ShardCount=1)
    return "settings"


@pytest.fixture
def function(new_function):
    return new_function("stream_handlers.echo", name="echo")


def test_defaults_come_from_the_table_for_the_engine_and_the_mapping():
    values = table.validate(KINESIS, {})
    assert values == {s.name: (s.default if s.name != "tumbling_window_s" else 0) for s in table.SETTINGS}
    assert table.Settings.from_values(values) == Settings()  # the engine's defaults are the table's
    assert Settings().max_retries == -1 and Settings().batch_size == 100


def test_every_setting_has_both_names_and_a_check_that_refuses_nonsense():
    for setting in table.SETTINGS:
        assert setting.name.islower() and setting.lambda_name[0].isupper()
        assert setting.check.expects
        if setting.name not in ("on_failure", "filter_criteria", "starting_position_timestamp",
                                "function_response_types", "tumbling_window_s"):
            with pytest.raises(ValueError, match=rf"{setting.lambda_name} \({setting.name}\) must be"):
                setting.validate(object(), KINESIS)


def test_lambda_names_and_snake_names_give_the_same_values():
    snake = table.validate(KINESIS, {"batch_size": 7, "bisect_batch_on_function_error": True,
                                     "maximum_record_age_s": 120})
    camel = table.validate(KINESIS, {"BatchSize": 7, "BisectBatchOnFunctionError": True,
                                     "MaximumRecordAgeInSeconds": 120})
    assert snake == camel and snake["batch_size"] == 7


def test_the_same_setting_twice_is_refused_even_at_its_default_value():
    with pytest.raises(TypeError, match="same setting"):
        table.validate(KINESIS, {"batch_size": 100, "BatchSize": 100})


def test_a_kinesis_only_setting_is_refused_for_dynamodb_by_name():
    with pytest.raises(TypeError, match="for DynamoDB Streams"):
        table.validate(DYNAMODB, {"starting_position_timestamp": 5})
    with pytest.raises(ValueError, match=r"\(for DynamoDB Streams\) one of TRIM_HORIZON, LATEST;"):
        table.validate(DYNAMODB, {"starting_position": "AT_TIMESTAMP"})


def test_signatures_and_docstrings_list_every_setting_a_source_accepts():
    kinesis = inspect.signature(connect_kinesis).parameters
    dynamodb = inspect.signature(connect_dynamodb_stream).parameters
    assert list(kinesis)[:2] == ["stream_name", "function"] and list(dynamodb)[:2] == ["table_name", "function"]
    assert [p for p in kinesis if p not in ("stream_name", "function", "lambda_names")] == [
        s.name for s in table.SETTINGS]
    assert "starting_position_timestamp" not in dynamodb and kinesis["batch_size"].default == 100
    assert kinesis["batch_size"].kind is inspect.Parameter.KEYWORD_ONLY
    for setting in table.accepted(DYNAMODB):
        assert f"``{setting.name}`` ({setting.lambda_name})" in connect_dynamodb_stream.__doc__


def test_describe_round_trips_through_lambda_names(stream, function):
    queue = aws.client("sqs").create_queue(QueueName="settings-dlq")["QueueUrl"]
    mapping = connect_kinesis(stream, function, batch_size=50, maximum_batching_window_s=5, parallelization_factor=3,
                              bisect_batch_on_function_error=True, maximum_retry_attempts=4,
                              maximum_record_age_s=600, on_failure=queue, tumbling_window_s=60,
                              function_response_types=["ReportBatchItemFailures"],
                              filter_criteria={"data": {"kind": ["click"]}}, starting_position="AT_TIMESTAMP",
                              starting_position_timestamp=clock.now() - 60, enabled=False)
    described = mapping.describe()
    settings = {k: v for k, v in described.items() if k in table.BY_LAMBDA_NAME}
    assert set(settings) == {s.lambda_name for s in table.SETTINGS} - {"Enabled"}
    assert described["State"] == "Disabled" and described["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":settings-dlq")
    again = connect_kinesis(stream, function, **settings, Enabled=False)
    assert {k: v for k, v in again.describe().items() if k != "UUID"} == {
        k: v for k, v in described.items() if k != "UUID"}
    assert again.settings == mapping.settings and again.settings.report_item_failures


def test_repr_shows_the_settings_changed_from_the_default(stream, function):
    plain = repr(connect_kinesis(stream, function))
    assert "BatchSize=100" in plain and "MaximumRetryAttempts=-1" in plain and "Bisect" not in plain
    changed = repr(connect_kinesis(stream, function, bisect_batch_on_function_error=True, maximum_record_age_s=60,
                                   function_response_types="ReportBatchItemFailures"))
    assert "BisectBatchOnFunctionError" in changed and "MaximumRecordAgeInSeconds=60" in changed
    assert "ReportBatchItemFailures" in changed and "(Enabled;" in changed
