"""Failed jobs: an alarm on metrics the application really emits, and the scheduled stale-job sweeper."""

from __future__ import annotations

import json

import pytest

from infra.components.observability import JOB_FAILING_FUNCTIONS
from infra.stages import STAGES
from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def emitted_dimension_sets(service: str, stage: str) -> list[list[str]]:
    """What Powertools writes (EMF) for ``count("JobsFailed")`` in a function configured like the stack's."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="ContextIQ", service=service)
    metrics.set_default_dimensions(stage=stage)
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    emf = metrics.serialize_metric_set()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ContextIQ"
    assert emf["service"] == service and emf["stage"] == stage
    return [sorted(d) for d in emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"]]


def test_the_failed_jobs_alarm_names_the_exact_series_the_functions_emit(synth: Synth) -> None:
    alarms = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == f"ContextIQ-{synth.stage}-JobsFailed"
    ]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert "Metrics" in alarm and "MetricName" not in alarm
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    expression = next(q for q in queries.values() if "Expression" in q)
    assert "SEARCH" not in expression["Expression"]  # alarms cannot evaluate SEARCH
    assert expression.get("ReturnData", True) is True
    series = [q for q in queries.values() if "MetricStat" in q]
    assert {q["Id"] for q in series} == {f"failed{i}" for i in range(len(JOB_FAILING_FUNCTIONS))}
    assert all(f"FILL({q['Id']}, 0)" in expression["Expression"] for q in series)
    services = set()
    for query in series:
        metric = query["MetricStat"]["Metric"]
        assert query["ReturnData"] is False and query["MetricStat"]["Stat"] == "Sum"
        assert metric["Namespace"] == "ContextIQ" and metric["MetricName"] == "JobsFailed"
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert sorted(dims) in emitted_dimension_sets(dims["service"], synth.stage)  # same full dimension set
        assert dims["stage"] == synth.stage
        services.add(dims["service"])
    assert services == {f"contextiq-{name}" for name in JOB_FAILING_FUNCTIONS}
    assert alarm["Threshold"] == STAGES[synth.stage].alarms.failed_jobs
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert len(alarm["AlarmActions"]) == 1 and "Ref" in alarm["AlarmActions"][0]  # the stage's SNS topic


def _function_logical_id(synth: Synth, name: str) -> str:
    for logical_id, resource in synth.resources("AWS::Lambda::Function").items():
        if resource["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == f"contextiq-{name}":
            return logical_id
    raise AssertionError(name)


def test_the_sweeper_runs_on_a_schedule_with_only_the_jobs_table(synth: Synth) -> None:
    sweeper = _function_logical_id(synth, "sweeper")
    rules = [r["Properties"] for r in synth.resources("AWS::Events::Rule").values()]
    schedule = [r for r in rules if any(t["Arn"] == {"Fn::GetAtt": [sweeper, "Arn"]} for t in r["Targets"])]
    assert len(schedule) == 1
    minutes = STAGES[synth.stage].job_sweep_minutes
    assert schedule[0]["ScheduleExpression"] == f"rate({minutes} minutes)"
    assert schedule[0]["State"] == "ENABLED"
    permissions = [
        p["Properties"]
        for p in synth.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [sweeper, "Arn"]}
    ]
    assert [p["Principal"] for p in permissions] == ["events.amazonaws.com"]
    env = synth.resources("AWS::Lambda::Function")[sweeper]["Properties"]["Environment"]["Variables"]
    assert {k for k in env if k.startswith("CONTEXTIQ_")} == {"CONTEXTIQ_STAGE", "CONTEXTIQ_JOBS_TABLE"}
    role = synth.resources("AWS::Lambda::Function")[sweeper]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    text = json.dumps(policies)
    assert "dynamodb:Scan" in text and "dynamodb:UpdateItem" in text
    assert "bedrock:" not in text and "sqs:" not in text and "es:" not in text
