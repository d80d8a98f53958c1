"""Names of one stage's AWS resources: the single place that spells them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

APP_NAME = "sora-studio"
STAGES = ("dev", "prod")
API_GATEWAY_STAGE = "api"
# What the committed .chalice files are rendered for until `make deploy` writes the real
# account and region (AWS's documentation account; never a real deployment).
EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_REGION = "us-east-1"


def stack_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}"


def param_names(stage: str) -> tuple[str, str]:
    """SSM SecureString names: (upstream API key, webhook secret)."""
    return f"/{APP_NAME}/{stage}/videos-api-key", f"/{APP_NAME}/{stage}/webhook-secret"


@dataclass(frozen=True)
class StageResources:
    """What the Lambda functions of one stage touch; strings may be CloudFormation `${...}`."""

    stage: str
    region: str
    account: str
    table_name: str
    media_bucket: str
    key_param: str
    webhook_param: str
    # Chalice names the API handler `{app}-{stage}` and the others `{app}-{stage}-{name}`;
    # in a packaged stack CloudFormation names them `{stack}-{LogicalId}-{suffix}`.
    function_prefix: str = ""
    partition: str = "aws"

    def __post_init__(self) -> None:
        if not self.function_prefix:
            object.__setattr__(self, "function_prefix", f"{APP_NAME}-{self.stage}")

    @classmethod
    def for_stage(
        cls, stage: str, region: str = EXAMPLE_REGION, account: str = EXAMPLE_ACCOUNT
    ) -> StageResources:
        """The names the template gives a stage in this account and region."""
        key_param, webhook_param = param_names(stage)
        return cls(
            stage=stage,
            region=region,
            account=account,
            table_name=f"{APP_NAME}-{stage}-jobs",
            media_bucket=f"{APP_NAME}-{stage}-media-{account}-{region}",
            key_param=key_param,
            webhook_param=webhook_param,
        )

    @classmethod
    def from_outputs(
        cls, stage: str, outputs: Mapping[str, str], region: str, account: str
    ) -> StageResources:
        return cls(
            stage=stage,
            region=region,
            account=account,
            table_name=outputs["JobsTableName"],
            media_bucket=outputs["MediaBucketName"],
            key_param=outputs["VideosApiKeyParamName"],
            webhook_param=outputs["WebhookSecretParamName"],
        )

    def environment(self) -> dict[str, str]:
        """The stage environment the app reads (chalicelib/config.py)."""
        return {
            "STAGE": self.stage,
            "JOBS_TABLE": self.table_name,
            "MEDIA_BUCKET": self.media_bucket,
            "VIDEOS_API_KEY_PARAM": self.key_param,
            "VIDEOS_WEBHOOK_SECRET_PARAM": self.webhook_param,
        }
