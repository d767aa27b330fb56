"""Lab 2 (the stream audit function): the solution passes every check whatever the seed, the student version is
reported as not written yet, and each kind of wrong answer fails with a message that says what to do."""
import pytest

from lambdalab import labs
from lambdalab.labs import lab02
from test_labs_check import notebook_namespace


@pytest.fixture
def solution(root, backend):
    return notebook_namespace(root / "solutions" / "lab02_stream_audit.ipynb")


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab02_stream_audit.ipynb")


def failures(report):
    return {r.id: r for r in report.results if not r.passed}


def test_the_solution_passes_every_check_whatever_the_seed(solution):
    for seed in (1, 2):
        report = labs.check("lab02", namespace=solution, hidden=True, seed=seed)
        assert not failures(report), {k: (r.message, r.hint) for k, r in failures(report).items()}
        assert report.points == lab02.LAB.points == 18


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab02", namespace=student, hidden=True, seed=1)
    assert report.points == 0
    assert {r.status for r in report.results} == {"todo"}
    assert "not written yet" in report.results[0].message


def _raw_json_diff(record):
    """Compares the DynamoDB JSON itself: a set in another order looks changed."""
    change = record["dynamodb"]
    if any(image not in change for image in {"INSERT": ["NewImage"], "MODIFY": ["OldImage", "NewImage"],
                                             "REMOVE": ["OldImage"]}[record["eventName"]]):
        return None
    old, new = change.get("OldImage", {}), change.get("NewImage", {})
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def test_comparing_dynamodb_json_instead_of_values_fails_a_hidden_check_with_a_hint(solution):
    report = labs.check("lab02", "task1", namespace=dict(solution, changed_attributes=_raw_json_diff), hidden=True,
                        seed=1)
    failed = failures(report)
    assert set(failed) == {"task1.every_attribute_type"}  # the public checks and the other hidden ones still pass
    assert "a set in another order is the same set" in failed["task1.every_attribute_type"].hint


def test_numbers_as_floats_miss_a_change_beyond_a_floats_precision(solution):
    to_python = solution["to_python"]

    def float_diff(record):
        result = solution["changed_attributes"](record)
        if result is None:
            return None
        change = record["dynamodb"]
        old, new = to_python(change.get("OldImage", {})), to_python(change.get("NewImage", {}))
        as_float = {k: float(v) for k, v in new.items() if type(v).__name__ == "Decimal"}
        return [k for k in result if not (k in as_float and float(old.get(k, "nan")) == as_float[k])]

    failed = failures(labs.check("lab02", "task1", namespace=dict(solution, changed_attributes=float_diff),
                                 hidden=True, seed=1))
    assert "task1.every_attribute_type" in failed and "float()" in failed["task1.every_attribute_type"].hint


def test_an_empty_list_instead_of_none_for_a_keys_only_record_is_explained(solution):
    def never_none(record):
        return solution["changed_attributes"](record) or []

    failed = failures(labs.check("lab02", "task1", namespace=dict(solution, changed_attributes=never_none),
                                 hidden=True, seed=1))
    assert set(failed) == {"task1.missing_images_give_none"}
    assert "cannot tell what changed" in failed["task1.missing_images_give_none"].message
    assert "KEYS_ONLY stream has no images" in failed["task1.missing_images_give_none"].hint


def test_guessing_an_email_change_from_the_new_image_alone_fails(solution):
    def guess(record):
        new = record["dynamodb"].get("NewImage", {})
        return new["email"]["S"] if record["eventName"] == "MODIFY" and "email" in new else None

    failed = failures(labs.check("lab02", "task2", namespace=dict(solution, new_email_to_verify=guess), hidden=True,
                                 seed=1))
    assert "task2.a_rename_is_not" in failed and "task2.no_guessing_without_both_images" in failed
    assert "must not" in failed["task2.a_rename_is_not"].hint or "Only a change" in failed["task2.a_rename_is_not"].hint


def test_an_unconditional_write_is_caught_and_the_hint_names_the_condition(solution):
    boto3, item_key = solution["boto3"], solution["item_key"]

    def overwrite(record, table_name):
        boto3.client("dynamodb").put_item(TableName=table_name, Item={
            "event_id": {"S": record["eventID"]}, "item": {"S": item_key(record)},
            "event": {"S": record["eventName"]}, "sequence": {"S": record["dynamodb"]["SequenceNumber"]}})
        return True

    failed = failures(labs.check("lab02", "task3", namespace=dict(solution, write_audit_entry=overwrite)))
    assert set(failed) == {"task3.the_first_delivery_writes_the_entry", "task3.a_second_delivery_changes_nothing"}
    assert "leave out 'changed'" in failed["task3.the_first_delivery_writes_the_entry"].hint or \
        "changed" in failed["task3.the_first_delivery_writes_the_entry"].hint
    assert "ConditionalCheckFailedException" in failed["task3.a_second_delivery_changes_nothing"].hint


def test_a_duplicate_delivery_that_sends_twice_fails_the_hidden_handler_check(solution):
    good = solution["write_audit_entry"]

    def always_first(record, table_name):  # writes once, but claims every delivery is the first
        good(record, table_name)
        return True

    solution["write_audit_entry"] = always_first  # the handler looks it up in the notebook's namespace
    failed = failures(labs.check("lab02", "task3", namespace=solution, hidden=True, seed=1))
    assert "task3.a_duplicate_delivery_sends_one_verification" in failed
    result = failed["task3.a_duplicate_delivery_sends_one_verification"]
    assert "Exactly one verification message" in result.message and "2 message(s)" in str(result.actual)


def test_an_answer_that_fills_in_the_missing_images_of_the_record_it_is_given_scores_nothing_for_them(solution):
    """setdefault("OldImage", {}) on the record itself must not make the check's own expectation agree with it."""
    to_python = solution["to_python"]

    def fills_in(record):  # never returns None: adds the images a KEYS_ONLY record lacks, then diffs them
        change = record["dynamodb"]
        old, new = to_python(change.setdefault("OldImage", {})), to_python(change.setdefault("NewImage", {}))
        return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))

    failed = failures(labs.check("lab02", namespace=dict(solution, changed_attributes=fills_in), hidden=True, seed=1))
    assert "task1.missing_images_give_none" in failed
    assert "cannot tell what changed" in failed["task1.missing_images_give_none"].message
    assert "task1.modify_lists_what_changed" not in failed  # judged on the record as delivered, not as it was left


MODULE_LEVEL_CLIENT = '''
client = boto3.client("dynamodb")  # a student's cell: a client made once, at the top


def write_audit_entry(record, table_name):
    item = {"event_id": {"S": record["eventID"]}, "item": {"S": item_key(record)},
            "event": {"S": record["eventName"]}, "sequence": {"S": record["dynamodb"]["SequenceNumber"]}}
    changed = changed_attributes(record)
    if changed is not None:
        item["changed"] = {"L": [{"S": name} for name in changed]}
    try:
        client.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(event_id)")
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
'''


def test_a_client_made_at_the_top_of_a_cell_works_in_the_kernel_and_its_handler_failure_says_what_to_do(solution):
    exec(MODULE_LEVEL_CLIENT, solution)  # the setup cell gave boto3 its Region: no NoRegionError in the kernel
    report = labs.check("lab02", "task3", namespace=solution, hidden=True, seed=1)
    failed = failures(report)
    assert set(failed) == {"task3.a_duplicate_delivery_sends_one_verification"}  # the in-kernel checks pass
    result = failed["task3.a_duplicate_delivery_sends_one_verification"]
    assert result.status == "failed" and "cannot run `handler`" in result.message  # a failed check, not a crash
    assert "make it inside the function" in result.hint
