"""Create the jobs table for local runs, tests and benchmarks (deployed stages get theirs from
infra/template.yaml). Dev-only: it lives outside `chalicelib/`, so it is not in the Lambda
bundle."""

from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.models import JobModel, bind_models


def create_table(settings: Settings) -> None:
    """The jobs table with both indexes and TTL on `ttl`, unless it exists already."""
    bind_models(settings)
    if not JobModel.exists():
        JobModel.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
        JobModel._get_connection().connection.client.update_time_to_live(
            TableName=settings.jobs_table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )
