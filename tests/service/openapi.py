"""The Open MPIC API spec 3.5 (``spec/open-mpic-openapi-3.5.0.yaml``) as JSON Schema validators
and hypothesis strategies.

OpenAPI 3.0 is not JSON Schema; the conversion here does three things and nothing else:
- ``nullable: true`` lets ``null`` through for that schema object (the spec's intent: its own
  example answers ``request_orchestration_parameters: null`` on an ``allOf`` + ``nullable``);
- a ``oneOf`` with a ``discriminator`` selects its branch by the mapping (plain ``oneOf`` would
  match ContactEmail and ContactPhone parameters, which are the same schema, both at once);
- the response objects the kit emits are closed (``unevaluatedProperties: false``): the MPIC
  response, the orchestration parameters, each perspective entry and each check response. The
  spec does not forbid extra properties; the kit promises not to add any there.

Errata and extensions, kept as small and explicit as possible (see service/README.md):
- CAA ``details.records_seen`` is typed ``string`` by the spec although its description ("A list
  of the records"), the DNS details and the reference implementation (open-mpic-core) use a list
  of strings: validated as an array of strings or null;
- ``dns-persistent`` (BR 3.2.2.4.22) is implemented by open-mpic-core but absent from spec 3.5:
  added to the method enum with its core parameters (``issuer_domain_names``,
  ``expected_account_uri``);
- the other request fields of spec 3.6-3.9 as open-mpic-core 6.5 models them (no later version of
  the specification file is published): ``caa_check_parameters.allow_lookup_failure`` (3.6) and
  ``require_exact_case`` of website-change and dns-change (3.9), which the echo may carry;
  ``orchestration_parameters.cohort_for_single_attempt`` (3.7) is never echoed (the closed
  ``RequestOrchestrationParameters`` holds the 3.5 fields only).

The spec defines no body for 400/500; the kit's error bodies are validated against
:data:`ERROR_SCHEMA` (``{"error", "message"?, "validation_issues"?}``).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

SPEC_FILE = Path(__file__).parent / "spec" / "open-mpic-openapi-3.5.0.yaml"
_REF = "#/components/schemas/"
CLOSED = ("CAAResponse", "DCVResponse", "RequestOrchestrationParameters", "EffectiveOrchestrationParameters",
          "CheckResponseCAA", "CheckResponseDCV")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "minLength": 1},
        "message": {"type": "string"},
        "validation_issues": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["issue_type", "message"], "additionalProperties": False,
            "properties": {"issue_type": {"type": "string", "minLength": 1}, "message": {"type": "string"}}}},
    },
}
BAD_REQUEST_SCHEMA: dict[str, Any] = {**ERROR_SCHEMA, "required": ["error", "validation_issues"],
                                      "properties": {**ERROR_SCHEMA["properties"],
                                                     "error": {"const": "request-validation-failed"}}}


def raw_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("example", "description", "format")}
    disc = out.pop("discriminator", None)
    if disc is not None:
        prop, mapping = disc["propertyName"], disc["mapping"]
        out.pop("oneOf", None)
        out.update({
            "type": "object", "required": [prop], "properties": {prop: {"enum": sorted(mapping)}},
            "allOf": [{"if": {"properties": {prop: {"const": v}}}, "then": {"$ref": t}} for v, t in mapping.items()],
        })
    if out.pop("nullable", False):
        out = {"anyOf": [{"type": "null"}, out]}
    return out


@lru_cache(maxsize=1)
def schemas() -> dict[str, Any]:
    """components/schemas converted to JSON Schema 2020-12, errata and closures applied."""
    spec = copy.deepcopy(raw_spec()["components"]["schemas"])
    # erratum: CAA records_seen is a list (description, DNS details, open-mpic-core)
    caa_details = spec["CheckResponseCAA"]["allOf"][1]["properties"]["details"]
    caa_details["properties"]["records_seen"] = {"type": "array", "items": {"type": "string"}, "nullable": True}
    # extension: dns-persistent (open-mpic-core 6.5; BR 3.2.2.4.22)
    spec["ValidationMethod"]["enum"].append("dns-persistent")
    spec["DnsPersistentValidationParameters"] = {"allOf": [
        {"$ref": _REF + "BaseValidationParameters"},
        {"type": "object", "required": ["issuer_domain_names", "expected_account_uri"], "properties": {
            "issuer_domain_names": {"type": "array", "items": {"type": "string"}},
            "expected_account_uri": {"type": "string"}}}]}
    spec["DcvCheckParameters"]["discriminator"]["mapping"]["dns-persistent"] = _REF + "DnsPersistentValidationParameters"
    spec["DcvCheckParameters"]["oneOf"].append({"$ref": _REF + "DnsPersistentValidationParameters"})
    # extensions: spec 3.6-3.9 request fields (open-mpic-core 6.5)
    spec["CaaCheckParameters"]["properties"]["allow_lookup_failure"] = {"type": "boolean"}
    for name in ("WebsiteChangeValidationParameters", "DNSChangeValidationParameters"):
        spec[name]["allOf"][1]["properties"]["require_exact_case"] = {"type": "boolean"}
    out = _convert(spec)
    for name in CLOSED:
        out[name] = {"allOf": [out[name]], "unevaluatedProperties": False}
    for name in ("PerspectiveResponsesCAA", "PerspectiveResponsesDCV"):
        out[name]["items"]["additionalProperties"] = False
    return out


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({"components": {"schemas": schemas()}, **schema})


@lru_cache(maxsize=None)
def response_validator(status: int) -> Draft202012Validator:
    """The schema of a coordinator answer with ``status``: 200 MpicResponse, 400/413 the Open MPIC
    validation error, anything else the kit's error body."""
    if status == 200:
        return _validator({"oneOf": [{"$ref": _REF + "CAAResponse"}, {"$ref": _REF + "DCVResponse"}]})
    if status in (400, 413):
        return _validator(BAD_REQUEST_SCHEMA)
    return _validator(ERROR_SCHEMA)


def violations(status: int, body: Any) -> list[str]:
    """Every schema violation of ``body`` as "path: message" (empty when it conforms)."""
    out = []
    for err in response_validator(status).iter_errors(body):
        leaves = [err]
        while any(e.context for e in leaves):
            leaves = [c for e in leaves for c in (e.context or [e])]
        for leaf in leaves:
            out.append(f"{'/'.join(str(p) for p in leaf.absolute_path) or '<root>'}: {leaf.message[:200]}")
    return sorted(set(out))


# ------------------------------------------------------------------------- request strategies
def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and len(node) == 1:
        node = raw_spec()["components"]["schemas"][node["$ref"].removeprefix(_REF)]
    return node


def _merged(node: dict[str, Any]) -> dict[str, Any]:
    """An object schema with its allOf parts flattened (properties and required merged)."""
    node = _resolve(node)
    props: dict[str, Any] = dict(node.get("properties", {}))
    required = list(node.get("required", []))
    for part in node.get("allOf", []):
        sub = _merged(part)
        props.update(sub.get("properties", {}))
        required += sub.get("required", [])
    return {"type": "object", "properties": props, "required": required}


def strategy(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid for an OpenAPI schema node (raw spec), with nulls where nullable."""
    node = _resolve(node)
    if "oneOf" in node:
        base = st.one_of([strategy(n, depth + 1) for n in node["oneOf"]])
    elif "allOf" in node or node.get("type") == "object" or "properties" in node:
        merged = _merged(node)
        fields = {k: strategy(v, depth + 1) for k, v in merged["properties"].items()}
        required = {k: fields[k] for k in merged["required"] if k in fields}
        optional = {k: s for k, s in fields.items() if k not in required}
        extra = node.get("additionalProperties")
        base = st.fixed_dictionaries(required, optional=optional)
        if isinstance(extra, dict):
            base = st.dictionaries(st.text(max_size=20), strategy(extra, depth + 1), max_size=3)
    elif "enum" in node:
        base = st.sampled_from(node["enum"])
    elif node.get("type") == "array":
        base = st.lists(strategy(node.get("items", {}), depth + 1), max_size=4)
    elif node.get("type") == "integer":
        base = st.one_of(st.integers(-3, 12), st.sampled_from([2**31, 2**63, -(2**63)]))
    elif node.get("type") == "boolean":
        base = st.booleans()
    elif node.get("type") == "string":
        base = st.one_of(st.text(max_size=40), st.sampled_from(["caa-permit.mpic.test", "*.mpic.test", "127.0.0.1",
                                                               "::1", "web.mpic.test", ""]))
    else:
        base = st.none()
    if node.get("nullable"):
        base = st.one_of(st.none(), base)
    return base


def request_strategy() -> st.SearchStrategy[Any]:
    """``POST /mpic`` bodies built from the spec's request schemas (DCVParams | CAAParams)."""
    body = raw_spec()["paths"]["/mpic"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return strategy(body)
