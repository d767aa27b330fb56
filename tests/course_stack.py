"""deploy/template.yaml, translated by aws-sam-translator (what `sam deploy` sends to CloudFormation) and deployed into
moto's CloudFormation: the tests then read the resources, names, environments and roles CloudFormation made."""
import io
import json
import pathlib
import warnings
import zipfile

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from lambdalab import aws

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "deploy" / "template.yaml"
ARTIFACTS = "course-artifacts"  # `sam package` uploads CodeUri's folder as a .zip and writes its S3 URI instead
SENDER = "course@example.com"
DATABASE_URL = "postgresql://clicks.abc123.us-east-1.rds.amazonaws.com:5432/clicks?sslmode=require"


def translate(parameters=None) -> dict:
    """The CloudFormation template SAM makes of deploy/template.yaml, with CodeUri as `sam package` leaves it."""
    template = yaml_parse(TEMPLATE_PATH.read_text())
    template["Globals"]["Function"]["CodeUri"] = f"s3://{ARTIFACTS}/lib.zip"
    # the region fills AWS::Region where SAM needs it; the template names no managed policy by its short name, so
    # the translator never asks IAM for the map of them
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name="us-east-1"))
    return translator.translate(template, parameter_values=parameters or {}, get_managed_policy_map=dict)


def deploy(stack="course", sender=SENDER) -> dict:
    """Deploy the translated template on the current backend; returns stack (name), resources (logical id ->
    (type, physical id)), functions (logical id -> Lambda's configuration), secret (the database secret's ARN),
    translated (the template)."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        for path in (ROOT / "lib" / "lambdalab" / "handlers").glob("*.py"):
            archive.write(path, f"lambdalab/handlers/{path.name}")
    s3.put_object(Bucket=ARTIFACTS, Key="lib.zip", Body=code.getvalue())
    secret = aws.client("secretsmanager").create_secret(
        Name="clicks-db", SecretString=json.dumps({"username": "clicks", "password": "s3cret"}))["ARN"]
    translated = translate()
    cloudformation = aws.client("cloudformation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one per resource type moto skips (tests/test_deploy_template.py lists them)
        cloudformation.create_stack(
            StackName=stack, TemplateBody=json.dumps(translated), Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "DatabaseUrl", "ParameterValue": DATABASE_URL},
                        {"ParameterKey": "DatabaseSecretArn", "ParameterValue": secret},
                        {"ParameterKey": "SenderEmail", "ParameterValue": sender}])
    status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
    resources = {r["LogicalResourceId"]: (r["ResourceType"], r.get("PhysicalResourceId", ""))
                 for r in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    lam = aws.client("lambda")
    functions = {logical: lam.get_function_configuration(FunctionName=physical)
                 for logical, (kind, physical) in resources.items() if kind == "AWS::Lambda::Function"}
    return {"stack": stack, "resources": resources, "functions": functions, "secret": secret,
            "translated": translated}


def code_policy(stack: dict, function: str) -> dict:
    """The policy a function's own code runs under: its role's last inline policy (the template's inline Statement
    list, resolved by CloudFormation). The others are what Lambda does with the role (streams, destinations, logs)."""
    role = stack["functions"][function]["Role"].rsplit("/", 1)[-1]
    iam = aws.client("iam")
    names = sorted((n for n in iam.list_role_policies(RoleName=role)["PolicyNames"] if "RolePolicy" in n),
                   key=lambda n: int(n.rsplit("RolePolicy", 1)[1]))
    document = iam.get_role_policy(RoleName=role, PolicyName=names[-1])["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document  # JSON: moto_patches.iam_cloudformation_policies


def local_triggers_only(stack: dict) -> None:
    """Delete the event source mappings CloudFormation made in moto's Lambda (it would run the functions in Docker):
    the course's runtime runs the handlers, connected with connect_dynamodb_stream / connect_kinesis."""
    lam = aws.client("lambda")
    for kind, physical in stack["resources"].values():
        if kind == "AWS::Lambda::EventSourceMapping":
            lam.delete_event_source_mapping(UUID=physical)
