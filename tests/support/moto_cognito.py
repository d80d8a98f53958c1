"""CloudFormation handlers for the three Cognito resource types moto's CloudFormation lacks.

moto 5 implements the cognito-idp API but not AWS::Cognito::UserPool, UserPoolClient or
UserPoolDomain in its CloudFormation (it skips them with a warning). `install()` registers
minimal handlers so the moto server (same process) creates them from the real template:
each resource's properties, as CloudFormation resolved them, are renamed to the matching
cognito-idp request (CreateUserPool, SetUserPoolMfaConfig, CreateUserPoolClient,
CreateUserPoolDomain), validated against botocore's model of that request (an unknown or
mistyped property fails the stack), then handed to moto's cognito-idp backend.

What this cannot show: AWS's own handlers (their property mapping, defaults, replacement
rules and the service's semantic checks beyond botocore's shapes).
"""

from __future__ import annotations

from typing import Any

from botocore.session import get_session
from botocore.validate import ParamValidator
from moto.cloudformation import parsing
from moto.cognitoidp.models import CognitoIdpBackend, cognitoidp_backends
from moto.core.common_models import CloudFormationModel

_MODEL = get_session().get_service_model("cognito-idp")


# moto files its models by `__module__.split(".")[1]` (the service): give ours a dotted one.
_MODULE = "tests_infra.cognito_cloudformation"


class InvalidCognitoProperties(ValueError):
    pass


def request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked against the botocore input shape of `operation`."""
    report = ParamValidator().validate(params, _MODEL.operation_model(operation).input_shape)
    if report.has_errors():
        raise InvalidCognitoProperties(f"{operation}: {report.generate_report()}")
    return params


def _backend(account_id: str, region_name: str) -> CognitoIdpBackend:
    return cognitoidp_backends[account_id][region_name]


def _properties(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return dict(cloudformation_json.get("Properties", {}))


class UserPool(CloudFormationModel):
    __module__ = _MODULE

    def __init__(self, pool_id: str, arn: str) -> None:
        self.pool_id = pool_id
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.pool_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "UserPoolId", "ProviderName", "ProviderURL")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        region = self.pool_id.split("_", 1)[0]
        provider = f"cognito-idp.{region}.amazonaws.com/{self.pool_id}"
        return {
            "Arn": self.arn,
            "UserPoolId": self.pool_id,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
        }[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPool:
        props = _properties(cloudformation_json)
        mfas = props.pop("EnabledMfas", [])
        props["PoolName"] = props.pop("UserPoolName")
        params = request("CreateUserPool", props)
        backend = _backend(account_id, region_name)
        pool = backend.create_user_pool(params.pop("PoolName"), params)
        if mfas:
            mfa = request(
                "SetUserPoolMfaConfig",
                {
                    "UserPoolId": pool.id,
                    "SoftwareTokenMfaConfiguration": {"Enabled": "SOFTWARE_TOKEN_MFA" in mfas},
                    "MfaConfiguration": props.get("MfaConfiguration", "OFF"),
                },
            )
            backend.set_user_pool_mfa_config(
                pool.id,
                sms_config=None,  # type: ignore[arg-type]
                token_config=mfa["SoftwareTokenMfaConfiguration"],
                mfa_config=mfa["MfaConfiguration"],
            )
        return cls(pool.id, pool.arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: UserPool,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UserPool:
        props = _properties(cloudformation_json)
        for create_only in ("UserPoolName", "EnabledMfas", "Schema", "UsernameAttributes"):
            props.pop(create_only, None)
        props.pop("UsernameConfiguration", None)
        params = request("UpdateUserPool", {"UserPoolId": original_resource.pool_id, **props})
        _backend(account_id, region_name).update_user_pool(params.pop("UserPoolId"), params)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _backend(account_id, region_name).delete_user_pool(resource_name)

    def is_created(self) -> bool:
        return True


class UserPoolClient(CloudFormationModel):
    __module__ = _MODULE

    def __init__(self, pool_id: str, client_id: str, name: str) -> None:
        self.pool_id = pool_id
        self.client_id = client_id
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.client_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ClientId", "Name")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return {"ClientId": self.client_id, "Name": self.name}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPoolClient:
        params = request("CreateUserPoolClient", _properties(cloudformation_json))
        pool_id = params.pop("UserPoolId")
        secret = bool(params.pop("GenerateSecret", False))
        client = _backend(account_id, region_name).create_user_pool_client(pool_id, secret, params)
        return cls(pool_id, client.id, params["ClientName"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: UserPoolClient,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UserPoolClient:
        props = _properties(cloudformation_json)
        props.pop("GenerateSecret", None)
        props["ClientId"] = original_resource.client_id
        params = request("UpdateUserPoolClient", props)
        pool_id, client_id = params.pop("UserPoolId"), params.pop("ClientId")
        _backend(account_id, region_name).update_user_pool_client(pool_id, client_id, params)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_user_pool_client(self.pool_id, self.client_id)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:  # `delete` above is used instead (it knows the pool)
        raise NotImplementedError

    def is_created(self) -> bool:
        return True


class UserPoolDomain(CloudFormationModel):
    __module__ = _MODULE

    def __init__(self, pool_id: str, domain: str) -> None:
        self.pool_id = pool_id
        self.domain = domain

    @property
    def physical_resource_id(self) -> str:
        return self.domain

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "CloudFrontDistribution"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return {"CloudFrontDistribution": f"{self.domain}.cloudfront.net"}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPoolDomain:
        params = request("CreateUserPoolDomain", _properties(cloudformation_json))
        _backend(account_id, region_name).create_user_pool_domain(
            params["UserPoolId"], params["Domain"], params.get("CustomDomainConfig")
        )
        return cls(params["UserPoolId"], params["Domain"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: UserPoolDomain,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UserPoolDomain:
        props = _properties(cloudformation_json)
        if (props["UserPoolId"], props["Domain"]) == (
            original_resource.pool_id,
            original_resource.domain,
        ):
            return original_resource
        _backend(account_id, region_name).delete_user_pool_domain(original_resource.domain)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _backend(account_id, region_name).delete_user_pool_domain(resource_name)

    def is_created(self) -> bool:
        return True


def install() -> None:
    """Make moto's CloudFormation see the handlers above (its type map is cached)."""
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    known = parsing.get_model_map()
    for model in (UserPool, UserPoolClient, UserPoolDomain):
        assert known.get(model.cloudformation_type()) is model, model
