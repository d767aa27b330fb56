"""Lab 3 (clickstream): the solution passes every check, public and hidden, whatever the seed; the student version
is reported as not written yet; typical wrong answers fail with a message that says what to fix."""
import pytest

from lambdalab import labs
from lambdalab.labs import lab03
from test_labs_check import notebook_namespace


@pytest.fixture
def solution(root, backend):
    return notebook_namespace(root / "solutions" / "lab03_clickstream.ipynb")


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab03_clickstream.ipynb")


def test_the_solution_passes_every_public_check(solution, capsys):
    report = labs.check("lab03", namespace=solution)
    assert report.passed and report.points == report.max_points == 9
    assert "Hidden checks run when your lab is graded (11 more points)" in capsys.readouterr().out


def test_the_solution_passes_the_hidden_checks_whatever_the_seed(solution):
    for seed in (1, 2):
        report = labs.check("lab03", namespace=solution, hidden=True, seed=seed)
        assert report.passed, report.text()
        assert report.points == lab03.LAB.points == 20


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab03", namespace=student, hidden=True)
    assert not report.passed and report.points == 0
    assert {r.status for r in report.results} == {"todo"}
    assert "`decode_click` is not written yet" in report["decodes_the_example"].message


def _wrong(solution, name, source):
    namespace = dict(solution)
    exec(source, namespace)
    return namespace


def test_decoding_without_base64_is_caught(solution):
    wrong = _wrong(solution, "decode_click", "def decode_click(record):\n    return json.loads(record['kinesis']['data'])")
    result = labs.check("lab03", "task1", namespace=wrong)["decodes_the_example"]
    assert not result.passed and "JSONDecodeError" in result.message


def test_a_list_taken_for_a_click_is_caught(solution):
    wrong = _wrong(solution, "decode_click", "def decode_click(record):\n"
                                             "    return json.loads(base64.b64decode(record['kinesis']['data']))")
    report = labs.check("lab03", "task1", namespace=wrong, hidden=True)
    assert report["decodes_the_example"].passed
    failed = report["refuses_what_is_not_a_click_object"]
    assert not failed.passed and "should raise ValueError" in failed.message and "dict" in failed.hint


def test_a_minute_in_local_time_or_with_the_offset_ignored_is_caught(solution):
    wrong = _wrong(solution, "transform", "def transform(click):\n"
                   "    ts = click['ts']\n"
                   "    moment = datetime.fromisoformat(ts) if isinstance(ts, str) else datetime.fromtimestamp(ts, "
                   "tz=timezone.utc)\n"
                   "    return click['page'], moment.strftime('%Y-%m-%dT%H:%M')\n")
    report = labs.check("lab03", "task2", namespace=wrong, hidden=True)
    assert report["transforms_the_example"].passed and report["reads_iso_8601_times"].passed
    assert not report["handles_times_it_has_never_seen"].passed
    assert "UTC" in report["handles_times_it_has_never_seen"].hint
    assert not report["refuses_a_click_without_a_page"].passed  # KeyError is not the ValueError asked for


STOPS_AT_FIRST = """def handler(event, context):
    rows, failures = [], []
    for record in event["Records"]:
        try:
            page, minute = transform(decode_click(record))
        except ValueError:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
            break
        rows.append((record["eventID"], page, minute))
    save_clicks(rows)
    return {"batchItemFailures": failures}
"""


def test_a_handler_that_stops_at_the_first_bad_record_fails_the_poison_pill_check(solution):
    report = labs.check("lab03", "task3", namespace=_wrong(solution, "handler", STOPS_AT_FIRST), hidden=True)
    result = report["a_poison_pill_among_good_records"]
    assert not result.passed and "not all counted" in result.message and "go on" in result.hint


def test_a_handler_that_reports_event_ids_or_forgets_the_event_id_is_caught(solution):
    event_ids = STOPS_AT_FIRST.replace("break", "continue").replace(
        'record["kinesis"]["sequenceNumber"]', 'record["eventID"]')
    result = labs.check("lab03", "task3", namespace=_wrong(solution, "handler", event_ids))[
        "reports_a_bad_record_by_its_sequence_number"]
    assert not result.passed and "sequence number" in result.hint
    fresh_ids = STOPS_AT_FIRST.replace("break", "continue").replace('rows.append((record["eventID"]',
                                                                   'rows.append((str(id(rows)) + str(len(rows))')
    report = labs.check("lab03", "task3", namespace=_wrong(solution, "handler", fresh_ids), hidden=True)
    assert report["counts_a_clean_batch"].passed
    twice = report["a_batch_delivered_again_counts_once"]
    assert not twice.passed and "counted twice" in twice.message


def test_a_list_for_the_tuple_is_told_plainly_and_a_boolean_time_is_caught(solution):
    """(review) printed, ['/home', '...'] and ('/home', '...') look alike: the message names the type; JSON true as
    ts passes isinstance(ts, int) and must still be refused."""
    as_list = _wrong(solution, "transform", "_right = transform\n"
                                           "def transform(click):\n    return list(_right(click))")
    report = labs.check("lab03", "task2", namespace=as_list, hidden=True)
    result = report["transforms_the_example"]
    assert not result.passed and "not a list" in result.message and "return page, minute" in result.hint
    assert not report["handles_times_it_has_never_seen"].passed
    accepts_true = _wrong(solution, "transform", "_right = transform\n"
                                                 "def transform(click):\n"
                                                 "    if click.get('ts') is True:\n"
                                                 "        return click['page'], '1970-01-01T00:00'\n"
                                                 "    return _right(click)")
    report = labs.check("lab03", "task2", namespace=accepts_true, hidden=True)
    assert report["transforms_the_example"].passed and report["ignores_unexpected_fields"].passed
    refused = report["refuses_every_kind_of_malformed_click"]
    assert not refused.passed and "'ts': True" in refused.call and "bool" in refused.hint
