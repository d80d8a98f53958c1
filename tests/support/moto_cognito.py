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


class _CognitoModel:
    """What the three handlers share: moto's CloudFormationModel interface, reduced to
    `CFN_TYPE`, `attributes()`, the physical id, and `_create` / `_update` / `_delete` on
    the resource's properties and the region's cognito-idp backend."""

    CFN_TYPE = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__module__ = _MODULE

    @property
    def physical_resource_id(self) -> str:
        raise NotImplementedError

    def attributes(self) -> dict[str, str]:
        raise NotImplementedError

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.CFN_ATTRS  # type: ignore[attr-defined]

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attributes()[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls._create(_properties(cloudformation_json), _backend(account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        props = _properties(cloudformation_json)
        return cls._update(original_resource, props, _backend(account_id, region_name))

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls._delete(resource_name, _backend(account_id, region_name))

    @classmethod
    def _create(cls, props: dict[str, Any], backend: CognitoIdpBackend) -> Any:
        raise NotImplementedError

    @classmethod
    def _update(cls, original: Any, props: dict[str, Any], backend: CognitoIdpBackend) -> Any:
        raise NotImplementedError

    @classmethod
    def _delete(cls, resource_name: str, backend: CognitoIdpBackend) -> None:
        raise NotImplementedError


class UserPool(_CognitoModel, CloudFormationModel):
    CFN_TYPE = "AWS::Cognito::UserPool"
    CFN_ATTRS = ("Arn", "UserPoolId", "ProviderName", "ProviderURL")

    def __init__(self, pool_id: str, arn: str) -> None:
        self.pool_id = pool_id
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.pool_id

    def attributes(self) -> dict[str, str]:
        region = self.pool_id.split("_", 1)[0]
        provider = f"cognito-idp.{region}.amazonaws.com/{self.pool_id}"
        return {
            "Arn": self.arn,
            "UserPoolId": self.pool_id,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
        }

    @classmethod
    def _create(cls, props: dict[str, Any], backend: CognitoIdpBackend) -> UserPool:
        mfas = props.pop("EnabledMfas", [])
        props["PoolName"] = props.pop("UserPoolName")
        params = request("CreateUserPool", props)
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
    def _update(
        cls, original: UserPool, props: dict[str, Any], backend: CognitoIdpBackend
    ) -> UserPool:
        for create_only in ("UserPoolName", "EnabledMfas", "Schema", "UsernameAttributes"):
            props.pop(create_only, None)
        props.pop("UsernameConfiguration", None)
        params = request("UpdateUserPool", {"UserPoolId": original.pool_id, **props})
        backend.update_user_pool(params.pop("UserPoolId"), params)
        return original

    @classmethod
    def _delete(cls, resource_name: str, backend: CognitoIdpBackend) -> None:
        backend.delete_user_pool(resource_name)


class UserPoolClient(_CognitoModel, CloudFormationModel):
    CFN_TYPE = "AWS::Cognito::UserPoolClient"
    CFN_ATTRS = ("ClientId", "Name")

    def __init__(self, pool_id: str, client_id: str, name: str) -> None:
        self.pool_id = pool_id
        self.client_id = client_id
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.client_id

    def attributes(self) -> dict[str, str]:
        return {"ClientId": self.client_id, "Name": self.name}

    @classmethod
    def _create(cls, props: dict[str, Any], backend: CognitoIdpBackend) -> UserPoolClient:
        params = request("CreateUserPoolClient", props)
        pool_id = params.pop("UserPoolId")
        secret = bool(params.pop("GenerateSecret", False))
        client = backend.create_user_pool_client(pool_id, secret, params)
        return cls(pool_id, client.id, params["ClientName"])

    @classmethod
    def _update(
        cls, original: UserPoolClient, props: dict[str, Any], backend: CognitoIdpBackend
    ) -> UserPoolClient:
        props.pop("GenerateSecret", None)
        props["ClientId"] = original.client_id
        params = request("UpdateUserPoolClient", props)
        pool_id, client_id = params.pop("UserPoolId"), params.pop("ClientId")
        backend.update_user_pool_client(pool_id, client_id, params)
        return original

    def delete(self, account_id: str, region_name: str) -> None:
        """Used instead of `delete_from_cloudformation_json`: it knows the pool."""
        _backend(account_id, region_name).delete_user_pool_client(self.pool_id, self.client_id)


class UserPoolDomain(_CognitoModel, CloudFormationModel):
    CFN_TYPE = "AWS::Cognito::UserPoolDomain"
    CFN_ATTRS = ("CloudFrontDistribution",)

    def __init__(self, pool_id: str, domain: str) -> None:
        self.pool_id = pool_id
        self.domain = domain

    @property
    def physical_resource_id(self) -> str:
        return self.domain

    def attributes(self) -> dict[str, str]:
        return {"CloudFrontDistribution": f"{self.domain}.cloudfront.net"}

    @classmethod
    def _create(cls, props: dict[str, Any], backend: CognitoIdpBackend) -> UserPoolDomain:
        params = request("CreateUserPoolDomain", props)
        backend.create_user_pool_domain(
            params["UserPoolId"], params["Domain"], params.get("CustomDomainConfig")
        )
        return cls(params["UserPoolId"], params["Domain"])

    @classmethod
    def _update(
        cls, original: UserPoolDomain, props: dict[str, Any], backend: CognitoIdpBackend
    ) -> UserPoolDomain:
        if (props["UserPoolId"], props["Domain"]) == (original.pool_id, original.domain):
            return original
        backend.delete_user_pool_domain(original.domain)
        return cls._create(props, backend)

    @classmethod
    def _delete(cls, resource_name: str, backend: CognitoIdpBackend) -> None:
        backend.delete_user_pool_domain(resource_name)


def install() -> None:
    """Make moto's CloudFormation see the handlers above (its type map is cached)."""
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    known = parsing.get_model_map()
    for model in (UserPool, UserPoolClient, UserPoolDomain):
        assert known.get(model.cloudformation_type()) is model, model
