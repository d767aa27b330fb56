"""Lab 5 (least privilege): the solution passes every check, the student version reports TODOs, and each kind of wrong
policy fails the check it should, with a message that says what to change."""
import pytest

from lambdalab import labs
from lambdalab.labs import lab05
from test_labs_check import notebook_namespace

LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


@pytest.fixture
def solution(root, backend):
    return notebook_namespace(root / "solutions" / "lab05_least_privilege.ipynb")


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab05_least_privilege.ipynb")


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def logs(function_name, resource=None):
    return {"Effect": "Allow", "Action": LOGS,
            "Resource": resource or f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{function_name}:*"}


def full(result):
    """Everything a student reads about a result: message, expected, actual, hint."""
    return " ".join(str(x) for x in (result.message, result.expected, result.actual, result.hint) if x)


def with_thumbnail_policy(solution, make):
    namespace = dict(solution)
    namespace["thumbnail_policy"] = make
    return namespace


def result(namespace, check_id, hidden=False):
    report = labs.check("lab05", check_id.split(".")[0], namespace=namespace, hidden=hidden, seed=3)
    return report[check_id.split(".")[1]]


def task_results(namespace, task):
    """Every check of ``task``, public and hidden, in one run (the run starts the real function once for them all):
    the public checks' results are the ones ``result`` gives, as public checks always use the same inputs."""
    report = labs.check("lab05", task, namespace=namespace, hidden=True, seed=3)
    return lambda check_id: report[check_id]


def test_the_solution_passes_every_public_and_hidden_check(solution):
    report = labs.check("lab05", namespace=solution)
    assert report.passed and report.points == report.max_points == 11, report.text()
    everything = labs.check("lab05", namespace=solution, hidden=True, seed=7)
    assert everything.passed and everything.points == lab05.LAB.points == 20, everything.text()


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab05", namespace=student, hidden=True, seed=1)
    assert report.points == 0 and {r.status for r in report.results} == {"todo"}
    assert "`thumbnail_policy` is not written yet" in report["the_function_works_under_your_policy"].message


def test_too_narrow_fails_with_the_denied_call(solution):
    make = lambda i, o, f: policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{i}/*"},
                                  logs(f))
    found = result(with_thumbnail_policy(solution, make), "task1.the_function_works_under_your_policy")
    assert found.status == "failed" and "denied a call it needs" in found.message
    assert "s3:PutObject on arn:aws:s3:::lab05-thumbs-" in full(found) and "AccessDenied" in full(found)


def test_over_broad_works_but_fails_the_least_privilege_checks(solution):
    make = lambda i, o, f: policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, logs(f))
    checks = task_results(with_thumbnail_policy(solution, make), "task1")
    assert checks("task1.the_function_works_under_your_policy").passed
    wild = checks("task1.no_wildcard_actions_and_only_reads_on_the_input")
    assert wild.status == "failed" and "allows more actions than it names" in wild.message
    hidden = checks("task1.forbidden_calls_are_denied")
    assert hidden.status == "failed" and "s3:DeleteObject" in hidden.message


def test_writing_to_the_input_bucket_is_refused(solution):
    make = lambda i, o, f: policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                   "Resource": [f"arn:aws:s3:::{i}/*", f"arn:aws:s3:::{o}/*"]}, logs(f))
    checks = task_results(with_thumbnail_policy(solution, make), "task1")
    found = checks("task1.no_wildcard_actions_and_only_reads_on_the_input")
    assert found.status == "failed" and "overwrite the originals" in full(found)
    unused = checks("task1.nothing_unused")
    assert unused.status == "failed" and "never used" in unused.message


def test_missing_or_account_wide_log_permissions(solution):
    no_logs = lambda i, o, f: policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{i}/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{o}/*"})
    found = result(with_thumbnail_policy(solution, no_logs), "task1.lambda_can_write_the_logs")
    assert found.status == "failed" and "logs:PutLogEvents" in full(found)
    tutorial = lambda i, o, f: policy(*no_logs(i, o, f)["Statement"], logs(f, "arn:aws:logs:*:*:*"))
    checks = task_results(with_thumbnail_policy(solution, tutorial), "task1")
    assert checks("task1.lambda_can_write_the_logs").passed
    assert checks("task1.logs_only_for_this_function").status == "failed"


def test_hard_coded_names_fail(solution):
    make = lambda i, o, f: policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos-in/*"},
                                  {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::photos-out/*"},
                                  logs("thumbnail"))
    found = result(with_thumbnail_policy(solution, make), "task1.the_function_works_under_your_policy")
    assert found.status == "failed"


def test_not_a_policy_is_refused_with_the_shape_to_write(solution):
    found = result(with_thumbnail_policy(solution, lambda i, o, f: {"Statement": [{"Action": "s3:GetObject"}]}),
                   "task1.the_function_works_under_your_policy")
    assert found.status == "failed" and "not a policy IAM would accept" in found.message


def test_a_parser_that_only_knows_the_example_fails_the_hidden_check(solution):
    namespace = dict(solution)
    namespace["missing_permission"] = lambda m: {"action": m.split("perform: ")[1].split(" ")[0],
                                                 "resource": m.split("on resource: ")[1].split(" because")[0].strip('"')}
    assert result(namespace, "task2.reads_the_example").passed
    assert result(namespace, "task2.reads_other_services_and_explicit_denies", hidden=True).status == "failed"


def test_a_secrets_policy_that_allows_every_secret_action_fails_hidden(solution):
    namespace = dict(solution)
    namespace["secret_reader_policy"] = lambda arn, f: policy(
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}, logs(f))
    checks = task_results(namespace, "task3")
    assert checks("task3.the_function_reads_its_secret").passed
    hidden = checks("task3.only_that_secret_and_only_reading")
    assert hidden.status == "failed" and "allows more actions than it names" in hidden.message
    assert "PutSecretValue" in hidden.hint
    namespace["secret_reader_policy"] = lambda arn, f: policy(logs(f))
    denied = result(namespace, "task3.the_function_reads_its_secret")
    assert denied.status == "failed" and "GetSecretValue" in full(denied)


def s3_statements(get_resource, put_resource):
    return ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": get_resource},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": put_resource})


def test_a_bucket_name_followed_by_a_wildcard_is_caught_in_public_and_hidden(solution):
    """arn:aws:s3:::INPUT* (no /) works, but also covers INPUT-archive: it used to pass every check."""
    make = lambda i, o, f: policy(*s3_statements(f"arn:aws:s3:::{i}*", f"arn:aws:s3:::{o}*"), logs(f))
    checks = task_results(with_thumbnail_policy(solution, make), "task1")
    assert checks("task1.the_function_works_under_your_policy").passed
    public = checks("task1.no_wildcard_actions_and_only_reads_on_the_input")
    assert public.status == "failed" and public.message == "A statement allows more than the function uses."
    assert "resource arn:aws:s3:::lab05-uploads-" in public.actual and "other buckets" in public.hint
    hidden = checks("task1.forbidden_calls_are_denied")
    assert hidden.status == "failed" and "-archive/photos/cat.jpg" in hidden.message


def test_every_bucket_is_caught_by_the_public_check(solution):
    make = lambda i, o, f: policy(*s3_statements("arn:aws:s3:::*", f"arn:aws:s3:::{o}/*"), logs(f))
    found = result(with_thumbnail_policy(solution, make), "task1.no_wildcard_actions_and_only_reads_on_the_input")
    assert found.status == "failed" and "resource arn:aws:s3:::*" in found.actual


def test_a_policy_that_stops_the_function_scores_no_least_privilege_points(solution):
    """A Deny on everything grants nothing, but the function must work too: it used to score 5 of 12 points."""
    make = lambda i, o, f: policy(*solution["thumbnail_policy"](i, o, f)["Statement"],
                                  {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    report = labs.check("lab05", "task1", namespace=with_thumbnail_policy(solution, make), hidden=True, seed=3)
    scored = {r.id: r.points for r in report.results if r.points}
    assert scored == {"task1.lambda_can_write_the_logs": 2}, report.text()
    assert "denied a call it needs" in report["no_wildcard_actions_and_only_reads_on_the_input"].message


def test_not_action_fails_the_nothing_unused_check(solution):
    make = lambda i, o, f: policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, logs(f))
    found = result(with_thumbnail_policy(solution, make), "task1.nothing_unused", hidden=True)
    assert found.status == "failed" and "NotAction" in found.actual


def test_not_a_dict_says_what_was_returned(solution):
    found = result(with_thumbnail_policy(solution, lambda i, o, f: None), "task1.the_function_works_under_your_policy")
    assert found.message == "thumbnail_policy should return the policy document as a dict, not a NoneType."


@pytest.mark.parametrize("statement, says", [
    (lambda arn: {"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": arn}, "more actions than it names"),
    (lambda arn: {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn.rsplit("-", 1)[0] + "*"},
     "-admin-QwErTy"),
], ids=["Get*", "name*"])
def test_sneaky_secret_wildcards_fail_the_hidden_check(solution, statement, says):
    namespace = dict(solution, secret_reader_policy=lambda arn, f: policy(statement(arn), logs(f)))
    checks = task_results(namespace, "task3")
    assert checks("task3.the_function_reads_its_secret").passed
    hidden = checks("task3.only_that_secret_and_only_reading")
    assert hidden.status == "failed" and says in full(hidden)


def test_a_secret_policy_that_does_not_let_the_function_work_scores_nothing_hidden(solution):
    namespace = dict(solution, secret_reader_policy=lambda arn, f: policy(logs(f)))
    hidden = result(namespace, "task3.only_that_secret_and_only_reading", hidden=True)
    assert hidden.status == "failed" and "GetSecretValue" in full(hidden)


def test_the_secret_arn_with_six_question_marks_passes(solution):
    """The exam tip's form, NAME-??????, is as narrow as the ARN itself."""
    namespace = dict(solution, secret_reader_policy=lambda arn, f: policy(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn.rsplit("-", 1)[0] + "-??????"},
        logs(f)))
    assert result(namespace, "task3.only_that_secret_and_only_reading", hidden=True).passed


def test_statements_without_a_resource_are_refused_as_iam_refuses_them(solution):
    """IAM refuses a role policy statement without Resource (MalformedPolicyDocument); the evaluator alone would
    read it as every resource, so such a policy used to pass every public check."""
    make = lambda i, o, f: policy({"Effect": "Allow", "Action": "s3:GetObject"},
                                  {"Effect": "Allow", "Action": "s3:PutObject"}, {"Effect": "Allow", "Action": LOGS})
    found = result(with_thumbnail_policy(solution, make), "task1.the_function_works_under_your_policy")
    assert found.status == "failed" and "names no Resource" in found.message and "MalformedPolicyDocument" in found.message


def test_role_policies_are_checked_as_iam_checks_identity_policies(backend):
    from lambdalab import security
    from lambdalab.security import policy as iam

    good = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    assert security.create_role("checked", good).endswith(":role/checked")
    for statement, says in [({"Effect": "Allow", "Action": "s3:GetObject"}, "names no Resource"),
                            ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
                             "names a Principal"),
                            ({"Effect": "Allow", "Action": {"s3:GetObject"}, "Resource": "*"}, "cannot be written as JSON")]:
        with pytest.raises(iam.PolicyError, match=says):
            security.create_role("checked", policy(statement))
    # trust and resource-based policies may leave Resource out, and name a Principal
    assert iam.load(security.lambda_trust_policy())


def test_a_run_of_checks_starts_each_function_once_and_removes_what_it_made(solution):
    """The six checks of task 1 judge one run of the thumbnail function (a cold start each was most of a check's
    time); its buckets, role and secret are removed when the run ends, as each check's were."""
    from lambdalab import aws

    calls = []

    def counted(*args):
        calls.append(args)
        return solution["thumbnail_policy"](*args)

    before = {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}
    roles_before = {r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]}
    report = labs.check("lab05", "task1", namespace=with_thumbnail_policy(solution, counted), hidden=True, seed=3)
    assert report.passed and len(report.results) == 6 and len(calls) == 1, report.text()
    assert {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]} == before
    assert {r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]} == roles_before
    labs.check("lab05", "task1", namespace=with_thumbnail_policy(solution, counted), hidden=True, seed=3)
    assert len(calls) == 2  # a new run starts the function again (the student may have changed the policy)
