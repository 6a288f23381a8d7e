# Copyright: vmrepl contributors
# Apache License 2.0
"""What every vmrepl module shares: connection options (defined once, with environment
fallbacks and no_log), client construction, and the one exception boundary that turns the
clients' typed errors into ``fail_json`` with a message that says what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    VmreplError,
)

VSPHERE_ARGUMENT_SPEC: dict[str, Any] = {
    "hostname": {
        "type": "str",
        "required": True,
        "aliases": ["vcenter_hostname"],
        "fallback": (env_fallback, ["VMWARE_HOST"]),
    },
    "username": {
        "type": "str",
        "required": True,
        "aliases": ["vcenter_username", "user"],
        "fallback": (env_fallback, ["VMWARE_USER"]),
    },
    "password": {
        "type": "str",
        "required": True,
        "no_log": True,
        "aliases": ["vcenter_password", "pass", "pwd"],
        "fallback": (env_fallback, ["VMWARE_PASSWORD"]),
    },
    "port": {"type": "int", "default": 443, "fallback": (env_fallback, ["VMWARE_PORT"])},
    "validate_certs": {
        "type": "bool",
        "default": True,
        "fallback": (env_fallback, ["VMWARE_VALIDATE_CERTS"]),
    },
    "ca_file": {"type": "path", "fallback": (env_fallback, ["VMWARE_CA_FILE"])},
}

ZVM_ARGUMENT_SPEC: dict[str, Any] = {
    "zvm_url": {"type": "str", "required": True, "fallback": (env_fallback, ["ZVM_URL"])},
    "zvm_username": {"type": "str", "required": True, "fallback": (env_fallback, ["ZVM_USERNAME"])},
    "zvm_password": {
        "type": "str",
        "required": True,
        "no_log": True,
        "fallback": (env_fallback, ["ZVM_PASSWORD"]),
    },
    "zvm_kind": {
        "type": "str",
        "default": "auto",
        "choices": ["auto", "appliance", "windows"],
        "fallback": (env_fallback, ["ZVM_KIND"]),
    },
    "zvm_validate_certs": {
        "type": "bool",
        "default": True,
        "fallback": (env_fallback, ["ZVM_VALIDATE_CERTS"]),
    },
    "zvm_ca_file": {"type": "path", "fallback": (env_fallback, ["ZVM_CA_FILE"])},
}


def _peer(option: dict[str, Any]) -> dict[str, Any]:
    peer = dict(option)
    if "fallback" in peer:
        peer["fallback"] = (env_fallback, ["PEER_" + name for name in option["fallback"][1]])
    return peer


#: The second ZVM of modules that act on a site pair (``peer_zvm_url`` ...; env ``PEER_ZVM_URL``).
PEER_ZVM_ARGUMENT_SPEC: dict[str, Any] = {
    "peer_" + name: _peer(option) for name, option in ZVM_ARGUMENT_SPEC.items()
}


def argument_spec(
    *, vsphere: bool = False, zvm: bool = False, peer_zvm: bool = False, **own: Any
) -> dict[str, Any]:
    """The module's own options plus the connection options it needs."""
    spec: dict[str, Any] = {}
    if vsphere:
        spec.update(VSPHERE_ARGUMENT_SPEC)
    if zvm:
        spec.update(ZVM_ARGUMENT_SPEC)
    if peer_zvm:
        spec.update(PEER_ZVM_ARGUMENT_SPEC)
    spec.update(own)
    return spec


def vsphere_client(module: AnsibleModule, params: Mapping[str, Any] | None = None) -> Any:
    """A vSphere client from the module's connection options (or from ``params``, a dict
    option with the same keys, such as sizing_info's ``recovery``)."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
        VSphereClient,
        VSphereConnectionParams,
    )

    p = module.params if params is None else params
    if not p["validate_certs"]:
        module.warn(
            f"validate_certs is false: the certificate of vCenter {p['hostname']} is not checked."
        )
    return VSphereClient.connect(
        VSphereConnectionParams(
            hostname=p["hostname"],
            username=p["username"] or "",
            password=p["password"] or "",
            port=p["port"],
            validate_certs=p["validate_certs"],
            ca_file=p["ca_file"],
        )
    )


def zvm_client(
    module: AnsibleModule,
    prefix: str = "zvm",
    params: Mapping[str, Any] | None = None,
    option: str | None = None,
) -> Any:
    """A ZVM client from the module's ``zvm_*`` options (``peer_zvm_*`` with that prefix), or
    from ``params``, a dict option with the same keys (errors then name ``option``)."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
        ZvmClient,
        ZvmConnectionParams,
    )

    p = module.params if params is None else params
    if not p[f"{prefix}_validate_certs"]:
        url = p[f"{prefix}_url"]
        module.warn(f"{prefix}_validate_certs is false: the certificate of {url} is not checked.")
    return ZvmClient(
        ZvmConnectionParams(
            url=p[f"{prefix}_url"],
            username=p[f"{prefix}_username"],
            password=p[f"{prefix}_password"],
            kind=p[f"{prefix}_kind"],
            validate_certs=p[f"{prefix}_validate_certs"],
            ca_file=p[f"{prefix}_ca_file"],
            option=option or f"{prefix}_url",
        )
    )


def hide(module: AnsibleModule, values: Iterable[str]) -> None:
    """Never show these values (secret OVF properties, whatever their keys are called):
    Ansible masks them wherever they would appear in the module's output."""
    module.no_log_values.update(value for value in values if value)


def run(module: AnsibleModule, body: Callable[[], dict[str, Any]]) -> None:
    """The exception boundary: ``body`` returns the result (with ``changed`` and ``msg``);
    a typed error becomes ``fail_json`` naming its kind and what to do, and a vSphere fault
    that no client call turned into one is reported with vCenter's own message."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
        HAS_PYVMOMI,
        fault_message,
    )

    faults: tuple[type[BaseException], ...] = ()
    if HAS_PYVMOMI:
        from pyVmomi import vmodl

        faults = (vmodl.MethodFault,)
    try:
        result = body()
    except VmreplError as exc:
        module.fail_json(**{**exc.details, "msg": str(exc), "error": type(exc).__name__})
    except faults as exc:
        module.fail_json(
            msg=f"vCenter refused the operation: {fault_message(exc)}", error=type(exc).__name__
        )
    module.exit_json(**result)


class Plan(Protocol):
    """What a service plans: one change shape, ``changes: {field: (before, after)}``, the facts
    to return, and the message for the plan (``summary(check_mode)``).

    A plan may also have ``needs_apply`` (a bool): the apply has something to do or to check
    although no change is known from reads alone (a VRA another run is installing, a VPG setting
    only its settings object shows). Without it, the apply runs when there are changes."""

    @property
    def changes(self) -> Mapping[str, tuple[Any, Any]]: ...

    @property
    def facts(self) -> Mapping[str, Any]: ...

    def summary(self, check_mode: bool) -> str: ...


def ensure(
    module: AnsibleModule, plan: Plan, apply: Callable[[], Mapping[str, Any]]
) -> dict[str, Any]:
    """The plan → result edge: ``changed`` when the plan has changes, ``diff`` from the changed
    keys only (when asked for with ``--diff``), ``msg`` from the plan. ``apply()`` runs only
    when there are changes (or the plan ``needs_apply``) and not in check mode; what it returns
    (facts after the change, and ``changed`` or ``msg`` when the change went otherwise than
    planned) updates the result. An apply that compares more than the reads could (a field only
    a settings object shows) returns the change as made as ``diff``, which replaces the planned
    one when the diff is asked for (and is dropped when not)."""
    result: dict[str, Any] = {"changed": bool(plan.changes), **plan.facts}
    if module._diff:
        result["diff"] = {
            side: {key: pair[index] for key, pair in plan.changes.items()}
            for side, index in (("before", 0), ("after", 1))
        }
    result["msg"] = plan.summary(module.check_mode)
    if getattr(plan, "needs_apply", bool(plan.changes)) and not module.check_mode:
        applied = dict(apply())
        diff = applied.pop("diff", None)
        if diff is not None and module._diff:
            result["diff"] = diff
        result.update(applied)
    return result


def not_applied() -> Mapping[str, Any]:
    """The ``apply`` of a plan that is only ever shown, never applied (a ``zvm_pending`` plan:
    check mode only)."""
    raise AssertionError("a plan made for check mode only was applied")


def zvm_pending(module: AnsibleModule, first: str = "deploy the ZVM first") -> bool:
    """Whether the module plans against a ZVM that this run deploys first (option
    ``zvm_pending``, documented by the ``vmrepl.core.zvm_pending`` fragment): such a plan reads
    nothing, so it is refused outside check mode, saying to do ``first``."""
    if not module.params.get("zvm_pending"):
        return False
    if not module.check_mode:
        raise ConfigurationError(f"zvm_pending is for check mode only: {first}.")
    return True


def ensure_with(
    module: AnsibleModule,
    connect: Callable[[AnsibleModule], Any],
    plan_of: Callable[[Any], Any],
    pending: Callable[[], Plan] | None = None,
    first: str = "deploy the ZVM first",
) -> dict[str, Any]:
    """The body of a module whose service plans against one client: the client of
    ``connect(module)`` (:func:`vsphere_client`, :func:`zvm_client`), the service's plan
    ``plan_of(client)``, and the plan through :func:`ensure` (applied while the client is
    open). With ``pending``, a module with the option ``zvm_pending`` (check mode only, see
    :func:`zvm_pending`) shows ``pending()`` instead and connects to nothing."""
    if pending is not None and zvm_pending(module, first):
        return ensure(module, pending(), not_applied)
    with connect(module) as client:
        plan = plan_of(client)
        return ensure(module, plan, plan.apply)


def run_with(
    module: AnsibleModule,
    connect: Callable[[AnsibleModule], Any],
    service: Callable[[Any, Mapping[str, Any]], dict[str, Any]],
) -> None:
    """:func:`run` for a module that is one service call: ``service(client, module.params)``
    with the client of ``connect(module)`` (an info module's read)."""

    def body() -> dict[str, Any]:
        with connect(module) as client:
            return service(client, module.params)

    run(module, body)


def check_ranges(
    params: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]], what: str = ""
) -> None:
    """Refuse, before anything changes, an option outside its range: ``ranges`` maps option
    names to (lowest, highest); one ConfigurationError names every option that is out of range
    (``what`` prefixes the names, e.g. ``vra ``). Options that are not set (None) pass."""
    problems = [
        f"{what}{name} must be {low} to {high}, not {params[name]}"
        for name, (low, high) in ranges.items()
        if params.get(name) is not None and not low <= params[name] <= high
    ]
    if problems:
        raise ConfigurationError(
            "; ".join(problems) + ".",
            hint="Nothing was changed.",
            details={"problems": problems},
        )
