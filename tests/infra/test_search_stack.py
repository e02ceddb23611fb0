"""The OpenSearch domain on every stage shape: fine-grained access control with an IAM master role,
encryption, HTTPS; Multi-AZ with Standby in prod; VPC placement as a stage option (the ``private``
shape), with the functions in isolated subnets and the endpoints they need."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from infra.access import INTERFACE_ENDPOINTS, NetworkConfig
from infra.components.network import ENI_ACTIONS
from infra.stages import STAGES, SearchConfig
from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

OUTSIDE_VPC = {"authorizer", "notifier", "webhook_delivery"}  # internet callers that never touch the domain
INDEX_USERS = {"memories", "procedures", "consolidation", "indexer", "procedure_learning", "procedure_indexer"}


def domain(synth: Synth) -> dict[str, Any]:
    ((_, resource),) = synth.resources("AWS::OpenSearchService::Domain").items()
    return resource["Properties"]


def functions(synth: Synth) -> dict[str, dict[str, Any]]:
    found = {}
    for resource in synth.resources("AWS::Lambda::Function").values():
        props = resource["Properties"]
        found[props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"].removeprefix("contextiq-")] = props
    return found


def test_fine_grained_access_control_with_an_iam_master_role(synth: Synth) -> None:
    props = domain(synth)
    security = props["AdvancedSecurityOptions"]
    assert security["Enabled"] is True and security["InternalUserDatabaseEnabled"] is False
    master = security["MasterUserOptions"]["MasterUserARN"]["Fn::GetAtt"][0]
    role = synth.template["Resources"][master]
    assert role["Type"] == "AWS::IAM::Role"
    assert "MasterUserName" not in security["MasterUserOptions"]  # no internal user, no password
    assert "root" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])  # the account's operators
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    admin_statements = [
        s for s in props["AccessPolicies"]["Statement"] if json.dumps(s["Principal"]).count(master) == 1
    ]
    assert len(admin_statements) == 1 and admin_statements[0]["Resource"]["Fn::Join"][1][-1].endswith("/*")


def test_the_function_role_output_names_every_role_the_domain_admits(synth: Synth) -> None:
    joined = synth.template["Outputs"]["SearchFunctionRoleArns"]["Value"]["Fn::Join"]
    assert joined[0] == ","
    output_roles = {part["Fn::GetAtt"][0] for part in joined[1]}
    policy = domain(synth)["AccessPolicies"]["Statement"]
    principals = [p for s in policy for p in (s["Principal"]["AWS"] if isinstance(s["Principal"]["AWS"], list)
                                             else [s["Principal"]["AWS"]])]  # fmt: skip
    admitted = {p["Fn::GetAtt"][0] for p in principals if isinstance(p, dict) and "Fn::GetAtt" in p}
    admin = domain(synth)["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"]["Fn::GetAtt"][0]
    assert output_roles == admitted - {admin}
    assert len(output_roles) == len(INDEX_USERS)


def test_prod_runs_multi_az_with_standby_and_three_copies_of_each_shard(synth: Synth) -> None:
    cluster = domain(synth)["ClusterConfig"]
    envs = {name: props["Environment"]["Variables"] for name, props in functions(synth).items()}
    if synth.stage != "prod":
        assert cluster["MultiAZWithStandbyEnabled"] is False
        assert not any("CONTEXTIQ_OPENSEARCH_REPLICAS" in env for env in envs.values())
        return
    assert cluster["MultiAZWithStandbyEnabled"] is True
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
    assert cluster["DedicatedMasterCount"] == 3 and cluster["InstanceCount"] % 3 == 0
    users = {name for name, env in envs.items() if "CONTEXTIQ_OPENSEARCH_ENDPOINT" in env}
    assert users == INDEX_USERS
    assert {envs[name]["CONTEXTIQ_OPENSEARCH_REPLICAS"] for name in users} == {"2"}


def test_named_stages_stay_outside_any_vpc(synth: Synth) -> None:
    assert not synth.resources("AWS::EC2::VPC")
    assert "VPCOptions" not in domain(synth)
    assert not [name for name, props in functions(synth).items() if "VpcConfig" in props]


def test_the_private_stage_places_domain_and_functions_in_isolated_subnets(private_stage: Synth) -> None:
    synth = private_stage
    assert not synth.resources("AWS::EC2::InternetGateway") and not synth.resources("AWS::EC2::NatGateway")
    assert not synth.resources("AWS::EC2::Route")  # no route out of the VPC at all
    subnets = synth.resources("AWS::EC2::Subnet")
    assert len(subnets) == 3
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    groups = synth.resources("AWS::EC2::SecurityGroup")
    by_description = {g["Properties"]["GroupDescription"].split(":")[0]: gid for gid, g in groups.items()}
    functions_group = by_description["ContextIQ functions"]
    search_group = by_description["ContextIQ OpenSearch domain"]
    endpoints_group = by_description["ContextIQ VPC interface endpoints"]
    assert groups[functions_group]["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS endpoints", "FromPort": 443, "IpProtocol": "tcp",
         "ToPort": 443}
    ]  # fmt: skip
    ingress = [r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()]
    assert sorted(r["GroupId"]["Fn::GetAtt"][0] for r in ingress) == sorted([search_group, endpoints_group])
    for rule in ingress:  # only HTTPS, only from the functions' group
        assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (443, 443, "tcp")
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [functions_group, "GroupId"]}
    for gid in (search_group, endpoints_group):
        assert "SecurityGroupIngress" not in groups[gid]["Properties"]

    vpc_options = domain(synth)["VPCOptions"]
    assert vpc_options["SecurityGroupIds"] == [{"Fn::GetAtt": [search_group, "GroupId"]}]
    assert sorted(s["Ref"] for s in vpc_options["SubnetIds"]) == sorted(subnets)

    found = functions(synth)
    for name, props in found.items():
        if name in OUTSIDE_VPC:  # JWKS / webhook URLs on the internet
            assert "VpcConfig" not in props, name
            continue
        config = props["VpcConfig"]
        assert config["SecurityGroupIds"] == [{"Fn::GetAtt": [functions_group, "GroupId"]}], name
        assert sorted(s["Ref"] for s in config["SubnetIds"]) == sorted(subnets), name


def test_the_private_stage_has_the_endpoints_its_functions_call(private_stage: Synth) -> None:
    endpoints = [e["Properties"] for e in private_stage.resources("AWS::EC2::VPCEndpoint").values()]
    services = {json.dumps(e["ServiceName"]).rsplit(".", 1)[-1].strip('"]}'): e for e in endpoints}
    assert set(services) == {"dynamodb", *INTERFACE_ENDPOINTS}
    assert services["dynamodb"]["VpcEndpointType"] == "Gateway"
    for name in INTERFACE_ENDPOINTS:
        assert services[name]["VpcEndpointType"] == "Interface" and services[name]["PrivateDnsEnabled"] is True
    assert private_stage.resources("AWS::EC2::FlowLog")


def test_functions_in_the_vpc_may_manage_their_network_interfaces(private_stage: Synth) -> None:
    policies = [p["Properties"] for p in private_stage.resources("AWS::IAM::Policy").values()]
    with_eni = [p for p in policies if all(a in json.dumps(p["PolicyDocument"]) for a in ENI_ACTIONS)]
    in_vpc = [n for n, props in functions(private_stage).items() if "VpcConfig" in props]
    assert len(with_eni) == len(in_vpc) == len(functions(private_stage)) - len(OUTSIDE_VPC)


def test_stage_option_validation() -> None:
    prod = STAGES["prod"].search
    with pytest.raises(ValueError, match="3 AZs"):
        replace(prod, availability_zone_count=2, instance_count=4)
    with pytest.raises(ValueError, match="dedicated master"):
        SearchConfig("r7g.large.search", 3, 100, availability_zone_count=3, multi_az_with_standby=True)
    with pytest.raises(ValueError, match="T2/T3"):
        replace(prod, instance_type="t3.medium.search")
    assert prod.index_replicas == 2 and STAGES["staging"].search.index_replicas is None
    for bad in ({"cidr": "8.8.0.0/16"}, {"cidr": "10.0.0.0/8"}, {"max_azs": 1}):
        with pytest.raises(ValueError):
            NetworkConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_azs"):
        replace(STAGES["prod"], network=NetworkConfig(max_azs=2))
