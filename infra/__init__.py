"""The ContextIQ CDK app: ``python -m infra.app`` (see cdk.json and docs/infrastructure.md)."""
