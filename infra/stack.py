"""Create, update, read and delete the CloudFormation stack of one stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

TEMPLATE_PATH = Path(__file__).with_name("template.yaml")


class StackError(RuntimeError):
    pass


def describe(cf: Any, name: str) -> dict[str, Any] | None:
    """The stack, or None when it does not exist (or is fully deleted)."""
    try:
        stacks = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    return stacks[0]


def outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}


def parameters(stack: Mapping[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def deploy(
    cf: Any,
    name: str,
    params: Mapping[str, str],
    template_body: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create the stack or update it in place; waits, then returns its outputs.

    Running it again with the same parameters is a no-op ("No updates are to be performed").
    """
    body = template_body if template_body is not None else TEMPLATE_PATH.read_text()
    args: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    existing = describe(cf, name)
    if existing is not None and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        # A first create that failed leaves a stack that can only be deleted.
        cf.delete_stack(StackName=name)
        cf.get_waiter("stack_delete_complete").wait(StackName=name)
        existing = None
    if existing is None:
        cf.create_stack(**args, OnFailure="ROLLBACK")
        _wait(cf, name, "stack_create_complete")
    else:
        try:
            cf.update_stack(**args)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
        else:
            _wait(cf, name, "stack_update_complete")
    stack = describe(cf, name)
    if stack is None:
        raise StackError(f"stack {name} vanished after deploy")
    return outputs(stack)


def _wait(cf: Any, name: str, waiter: str) -> None:
    try:
        cf.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    except Exception as exc:  # WaiterError: say why, from the failed events
        raise StackError(f"stack {name}: {waiter} failed: {failure_reasons(cf, name)}") from exc


def failure_reasons(cf: Any, name: str) -> str:
    try:
        events = cf.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return "(no events)"
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ]
    return "; ".join(reasons[:5]) or "(no failed resource events)"


def delete(cf: Any, name: str, retain: Sequence[str] = ()) -> bool:
    """Delete the stack and wait; False when there was none. A resource of `retain` that
    CloudFormation could not delete (a bucket that is not empty) is left in place: the stack
    is then deleted without it (RetainResources); any other failure is a StackError."""
    if describe(cf, name) is None:
        return False
    cf.delete_stack(StackName=name)
    try:
        _wait(cf, name, "stack_delete_complete")
    except StackError:
        current = describe(cf, name)
        if current is None or current["StackStatus"] != "DELETE_FAILED":
            raise
        resources = cf.describe_stack_resources(StackName=name)["StackResources"]
        failed = {
            r["LogicalResourceId"] for r in resources if r["ResourceStatus"] == "DELETE_FAILED"
        }
        if not failed or not failed <= set(retain):
            raise
        cf.delete_stack(StackName=name, RetainResources=sorted(failed))
        _wait(cf, name, "stack_delete_complete")
    return True
