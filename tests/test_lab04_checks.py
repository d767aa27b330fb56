"""Lab 4's checks judge patterns rightly: the solution passes every check (hidden ones with several seeds), the student
version is "not written yet", and each typical wrong pattern fails with the sandbox's reason and a hint."""
import pytest

from lambdalab import labs
from lambdalab.labs import lab04
from test_labs_check import notebook_namespace


@pytest.fixture
def solution(root, backend):
    return notebook_namespace(root / "solutions" / "lab04_event_patterns.ipynb")


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab04_event_patterns.ipynb")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_solution_passes_every_check(solution, seed):
    report = labs.check("lab04", namespace=solution, hidden=True, seed=seed)
    assert [r.id for r in report.results if not r.passed] == []
    assert report.points == lab04.LAB.points == 15


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab04", namespace=student)
    assert report.points == 0 and {r.status for r in report.results} == {"todo"}
    assert "`zip_pattern` is not written yet" in report["zip_pattern_routes_the_examples"].message


def zip_variant(**object_filters):
    def zip_pattern(bucket):
        return {"source": ["aws.s3"], "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [bucket]},
                           "object": {"key": [{"suffix": ".zip"}], "size": [{"numeric": [">", 1048576]}],
                                      **object_filters}}}
    return zip_pattern


def test_at_least_one_mb_instead_of_over_fails_with_the_reason_and_a_hint(solution):
    namespace = dict(solution, zip_pattern=zip_variant(size=[{"numeric": [">=", 1048576]}]))
    result = labs.check("lab04", "task1", namespace=namespace)["zip_pattern_routes_the_examples"]
    assert result.status == "failed"
    assert result.message == "The rule would deliver a .zip of exactly 1 MB, but it should not."
    assert result.expected == "no match" and result.actual == "a match" and '">" rather than ">="' in result.hint


def test_a_missing_size_condition_shows_which_event_slipped_through(solution):
    def no_size(bucket):
        return {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"suffix": ".zip"}]}}}

    result = labs.check("lab04", "task1", namespace=dict(solution, zip_pattern=no_size))["zip_pattern_routes_the_examples"]
    assert "a .zip of 200 KB" in result.message and "numeric" in result.hint


def test_a_too_tight_pattern_shows_the_sandboxs_reason(solution):
    namespace = dict(solution, zip_pattern=zip_variant(key=[{"suffix": ".ZIP"}]))
    result = labs.check("lab04", "task1", namespace=namespace)["zip_pattern_routes_the_examples"]
    assert result.message == "The rule would not deliver q3/sales.zip of 3 MB, but it should."
    assert result.actual == 'no match: detail.object.key: wanted suffix ".ZIP", got "q3/sales.zip"'


def test_a_fixed_bucket_name_and_ignoring_case_pass_in_public_but_not_in_hidden(solution):
    fixed = dict(solution, zip_pattern=lambda bucket: solution["zip_pattern"]("reports-inbox"))
    report = labs.check("lab04", "task1", namespace=fixed, hidden=True, seed=5)
    assert report["zip_pattern_routes_the_examples"].passed and not report["zip_pattern_uses_its_argument"].passed
    any_case = dict(solution, zip_pattern=zip_variant(key=[{"suffix": {"equals-ignore-case": ".zip"}}]))
    report = labs.check("lab04", "task1", namespace=any_case, hidden=True, seed=5)
    assert report["zip_pattern_routes_the_examples"].passed
    hidden = report["zip_pattern_on_unseen_events"]
    assert not hidden.passed and "a key ending in .ZIP" in hidden.message and "case-sensitive" in hidden.hint


def test_region_prefix_and_a_test_wildcard_fail_the_hidden_order_checks(solution):
    prefix = dict(solution, orders_pattern=lambda: {
        "source": ["com.example.shop"], "detail-type": ["Order Placed"],
        "region": [{"prefix": "us-east"}, {"prefix": "eu-west"}],
        "detail": {"customer": {"account-id": [{"anything-but": {"prefix": "test-"}}]}}})
    report = labs.check("lab04", "task2", namespace=prefix, hidden=True, seed=8)
    assert report["orders_pattern_routes_the_examples"].passed and not report["orders_pattern_on_unseen_events"].passed
    wildcard = dict(solution, orders_pattern=lambda: {
        "source": ["com.example.shop"], "detail-type": ["Order Placed"], "region": ["us-east-1", "eu-west-1"],
        "detail": {"customer": {"account-id": [{"anything-but": {"wildcard": "*test-*"}}]}}})
    hidden = labs.check("lab04", "task2", namespace=wildcard, hidden=True, seed=8)["orders_pattern_on_unseen_events"]
    assert not hidden.passed and "contest-12" in hidden.message


def test_alerts_without_the_rehearsal_rule_or_the_or_fail(solution):
    no_rehearsal = dict(solution, alert_pattern=lambda: {"source": ["com.example.payments"], "detail": {"$or": [
        {"amount": [{"numeric": [">", 10000]}]}, {"status": [{"equals-ignore-case": "failed"}]}]}})
    result = labs.check("lab04", "task3", namespace=no_rehearsal)["alert_pattern_routes_the_examples"]
    assert "rehearsal" in result.message and "exists" in result.hint
    anded = dict(solution, alert_pattern=lambda: {"source": ["com.example.payments"], "detail": {
        "amount": [{"numeric": [">", 10000]}], "status": [{"equals-ignore-case": "failed"}],
        "dry-run": [{"exists": False}]}})
    result = labs.check("lab04", "task3", namespace=anded)["alert_pattern_routes_the_examples"]
    assert result.status == "failed" and "no match: detail.status" in result.actual


def test_an_invalid_or_non_dict_pattern_gets_eventbridges_reason(solution):
    bare = dict(solution, orders_pattern=lambda: {"source": "com.example.shop"})
    result = labs.check("lab04", "task2", namespace=bare)["orders_pattern_routes_the_examples"]
    assert result.message == 'EventBridge refuses this pattern: "source" must be an object or an array.'
    assert "array" in result.hint
    text = dict(solution, orders_pattern=lambda: '{"source": ["com.example.shop"]}')
    result = labs.check("lab04", "task2", namespace=text)["orders_pattern_routes_the_examples"]
    assert "should return the event pattern as a dict, not a str" in result.message


def test_a_set_instead_of_a_list_is_the_students_mistake_not_a_broken_check(solution):
    """{"aws.s3"} is a Python set, not JSON: the check says so (it used to report "The check itself failed")."""
    def zip_pattern(bucket):
        return {"source": {"aws.s3"}, "detail": {"bucket": {"name": [bucket]}}}

    result = labs.check("lab04", "task1", namespace=dict(solution, zip_pattern=zip_pattern))[
        "zip_pattern_routes_the_examples"]
    assert result.status == "failed" and result.points == 0
    assert result.message.startswith("EventBridge refuses this pattern: Invalid JSON")
    assert "set" in result.message and "list" in result.message and "Tell your instructor" not in result.message


def test_eventbridges_reason_ends_with_one_full_stop(solution):
    single_or = dict(solution, alert_pattern=lambda: {"source": ["com.example.payments"], "detail": {
        "$or": [{"amount": [{"numeric": [">", 10000]}]}]}})
    result = labs.check("lab04", "task3", namespace=single_or)["alert_pattern_routes_the_examples"]
    assert result.message == ("EventBridge refuses this pattern: There must have at least 2 Objects in $or "
                              "relationship.")


def test_listing_the_example_test_account_fails_hidden_with_a_hint_for_every_test_account(solution):
    listed = dict(solution, orders_pattern=lambda: {
        "source": ["com.example.shop"], "detail-type": ["Order Placed"], "region": ["us-east-1", "eu-west-1"],
        "detail": {"customer": {"account-id": [{"anything-but": ["test-3"]}]}}})
    report = labs.check("lab04", "task2", namespace=listed, hidden=True, seed=4)
    assert report["orders_pattern_routes_the_examples"].passed
    hidden = report["orders_pattern_on_unseen_events"]
    assert not hidden.passed and "another test account" in hidden.message and "prefix" in hidden.hint
