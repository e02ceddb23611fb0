"""DynamoDB tables, one per ``contextiq.definitions.TABLES`` entry (so local and cloud cannot drift)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from contextiq.definitions import TABLES, Key, TableDef
from infra.components.functions import removal_policy
from infra.stages import StageConfig

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class Storage(Construct):
    """On-demand tables with TTL, AWS-managed KMS encryption, PITR per stage and streams where asked."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {}
        self.definitions: dict[str, TableDef] = {}
        for definition in TABLES:
            self.tables[definition.logical_id] = self._table(definition, stage)
            self.definitions[definition.logical_id] = definition

    def _table(self, definition: TableDef, stage: StageConfig) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            definition.logical_id,
            partition_key=_attribute(definition.partition_key),
            sort_key=_attribute(definition.sort_key) if definition.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=stage.point_in_time_recovery
            ),
            time_to_live_attribute=definition.ttl_attribute,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if definition.stream else None,
            deletion_protection=stage.retain_data,
            removal_policy=removal_policy(stage),
        )
        for index in definition.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def table(self, setting: str) -> dynamodb.Table:
        """The table whose name goes into the ``Settings`` field ``setting`` (e.g. ``"sessions_table"``)."""
        for logical_id, definition in self.definitions.items():
            if definition.setting == setting:
                return self.tables[logical_id]
        raise KeyError(f"no table for setting {setting!r}")
