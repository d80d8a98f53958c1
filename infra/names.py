"""Names of one stage's AWS resources: the single place that spells them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

APP_NAME = "sora-studio"
STAGES = ("dev", "prod")
API_GATEWAY_STAGE = "api"
# What the committed .chalice files are rendered for until `make deploy` writes the real
# account and region (AWS's documentation account; never a real deployment).
EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_REGION = "us-east-1"


def stack_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}"


# The scheduled refresher (the tick) and the worker it hands shards of pending jobs to by an
# asynchronous invoke (chalicelib/jobs/refresher.py): only the tick's role may invoke it.
REFRESH_TICK = "refresh_pending_jobs"
REFRESH_WORKER = "refresh_shard"


# How a deployed stage signs callers in (`AuthMode` of the stack, `AUTH_MODE` of the app);
# deployed stages refuse `none`.
AUTH_MODES = ("token", "cognito")
DEFAULT_AUTH_MODE = "token"
# The app's Cognito settings (chalicelib/config.py) by the stack output that holds them; with
# AuthMode=token none of them is written.
COGNITO_OUTPUTS = {
    "COGNITO_USER_POOL_ID": "CognitoUserPoolId",
    "COGNITO_CLIENT_ID": "CognitoClientId",
    "COGNITO_DOMAIN": "CognitoDomain",
}


def user_pool_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}-users"


class OutputsError(RuntimeError):
    """The stack's outputs lack something the stage's environment needs."""


@dataclass(frozen=True)
class Secret:
    """One SSM SecureString the app reads through `chalicelib.secrets.resolve`."""

    env: str  # the app's variable naming the parameter
    suffix: str  # /sora-studio/{stage}/{suffix}
    cfn_parameter: str  # template parameter and output holding the name
    source: str  # variable `make secrets` takes the value from (else it asks)
    label: str
    generated: bool = False  # `make secrets` makes one (never asks) when none is stored yet


SECRETS = (
    Secret("VIDEOS_API_KEY_PARAM", "videos-api-key", "VideosApiKeyParamName", "VIDEOS_API_KEY",
           "upstream Videos API key"),
    Secret("VIDEOS_WEBHOOK_SECRET_PARAM", "webhook-secret", "WebhookSecretParamName",
           "VIDEOS_WEBHOOK_SECRET", "webhook signing secret (whsec_...)"),
    Secret("AUTH_TOKENS_PARAM", "auth-tokens", "AuthTokensParamName", "AUTH_TOKENS",
           "access tokens JSON (entries from `python -m devtools.tokens USER`)"),
    Secret("OPENROUTER_API_KEY_PARAM", "openrouter-api-key", "OpenRouterApiKeyParamName",
           "OPENROUTER_API_KEY", "OpenRouter API key (sk-or-...)"),
    Secret("OPENROUTER_WEBHOOK_SECRET_PARAM", "openrouter-webhook-secret",
           "OpenRouterWebhookSecretParamName", "OPENROUTER_WEBHOOK_SECRET",
           "OpenRouter webhook signing secret"),
    Secret("MEDIA_LINK_SECRET_PARAM", "media-link-secret", "MediaLinkSecretParamName",
           "MEDIA_LINK_SECRET", "media link signing secret", generated=True),
    Secret("VERTEX_SERVICE_ACCOUNT_PARAM", "vertex-service-account",
           "VertexServiceAccountParamName", "VERTEX_SERVICE_ACCOUNT_JSON",
           "Google Cloud service-account key for Veo on Vertex AI (set "
           "VERTEX_SERVICE_ACCOUNT_JSON=\"$(cat key.json)\" rather than pasting it)"),
    Secret("FAL_KEY_PARAM", "fal-key", "FalKeyParamName", "FAL_KEY", "fal.ai API key (FAL_KEY)"),
)  # fmt: skip


def param_names(stage: str) -> dict[str, str]:
    """SSM SecureString names by the app variable that holds them."""
    return {s.env: f"/{APP_NAME}/{stage}/{s.suffix}" for s in SECRETS}


@dataclass(frozen=True)
class StageResources:
    """What the Lambda functions of one stage touch; strings may be CloudFormation `${...}`."""

    stage: str
    region: str
    account: str
    table_name: str
    media_bucket: str
    params: Mapping[str, str]  # SSM parameter names by app variable (see SECRETS)
    # Chalice names the API handler `{app}-{stage}` and the others `{app}-{stage}-{name}`;
    # in a packaged stack CloudFormation names them `{stack}-{LogicalId}-{suffix}`.
    function_prefix: str = ""
    partition: str = "aws"
    auth_mode: str = DEFAULT_AUTH_MODE
    cognito: Mapping[str, str] = field(default_factory=dict)  # COGNITO_* (cognito mode only)
    # The refresher's worker function (REFRESH_WORKER): `chalice deploy` names it
    # `{function_prefix}-refresh_shard`; a packaged stack gives its own name and ARN.
    refresh_worker_name: str = ""
    refresh_worker_arn: str = ""

    def __post_init__(self) -> None:
        if not self.function_prefix:
            object.__setattr__(self, "function_prefix", f"{APP_NAME}-{self.stage}")
        if not self.refresh_worker_name:
            name = f"{self.function_prefix}-{REFRESH_WORKER}"
            object.__setattr__(self, "refresh_worker_name", name)
        if not self.refresh_worker_arn:
            arn = (
                f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:"
                f"{self.refresh_worker_name}"
            )
            object.__setattr__(self, "refresh_worker_arn", arn)

    @classmethod
    def for_stage(
        cls, stage: str, region: str = EXAMPLE_REGION, account: str = EXAMPLE_ACCOUNT
    ) -> StageResources:
        """The names the template gives a stage in this account and region."""
        return cls(
            stage=stage,
            region=region,
            account=account,
            table_name=f"{APP_NAME}-{stage}-jobs",
            media_bucket=f"{APP_NAME}-{stage}-media-{account}-{region}",
            params=param_names(stage),
        )

    @classmethod
    def from_outputs(
        cls, stage: str, outputs: Mapping[str, str], region: str, account: str
    ) -> StageResources:
        auth_mode = outputs.get("AuthMode") or DEFAULT_AUTH_MODE
        cognito = {}
        if auth_mode == "cognito":
            cognito = {env: outputs.get(key, "") for env, key in COGNITO_OUTPUTS.items()}
            lacking = sorted(COGNITO_OUTPUTS[env] for env, value in cognito.items() if not value)
            if lacking:
                raise OutputsError(f"stack of stage {stage} uses Cognito but lacks {lacking}")
        return cls(
            stage=stage,
            region=region,
            account=account,
            table_name=outputs["JobsTableName"],
            media_bucket=outputs["MediaBucketName"],
            params={s.env: outputs[s.cfn_parameter] for s in SECRETS},
            auth_mode=auth_mode,
            cognito=cognito,
        )

    def environment(self) -> dict[str, str]:
        """The names and auth settings the app reads from its environment (chalicelib/config.py)."""
        return {
            "STAGE": self.stage,
            "JOBS_TABLE": self.table_name,
            "MEDIA_BUCKET": self.media_bucket,
            **self.params,
            "AUTH_MODE": self.auth_mode,
            **self.cognito,
        }
