"""Extract the data the sandbox validates against from Basware's P2P OpenAPI document.

Usage: python tools/extract_contract.py <p2p-openapi.json> [<push-notification-openapi.json>]

Writes sandbox/contract.json: the entity schemas (only the keywords that validate,
with $ref kept by schema name), per-endpoint bulk limits, page sizes and GET wrapper keys,
the OAuth scopes and the enums the sandbox's routes need. Run it again when Basware
publishes a new version of the API description.
"""

import argparse
import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "sandbox" / "contract.json"
REF_PREFIX = "#/components/schemas/"
KEPT_KEYWORDS = (
    "type",
    "nullable",
    "format",
    "maxLength",
    "minLength",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "required",
    "additionalProperties",
    "readOnly",
)
# Endpoint name -> (collection path, requestStatus entityType, scope prefix).
ENDPOINTS = {
    "vendors": ("/v1/vendors", "Vendor", "vendors"),
    "accounts": ("/v1/accounts", "Account", "accounts"),
    "costCenters": ("/v1/costCenters", "CostCenter", "costCenters"),
    "lists": ("/v1/lists/{listKey}", "GenericList", "lists"),
    "projects": ("/v2/projects", "Project", "projects"),
    "taxCodes": ("/v1/taxCodes", "TaxCode", "taxCodes"),
    "paymentTerms": ("/v1/paymentTerms", "PaymentTerm", "paymentTerms"),
    "matchingOrders": ("/v1/matchingOrders", "MatchingOrder", "matchingOrders"),
    "matchingOrderLines": ("/v1/matchingOrderLines", "MatchingOrderLine", "matchingOrderLines"),
}
DOCUMENTS_PATH = "/v1/accountingDocuments"
RESPONSE_ENDPOINTS = {
    "transferResponses": "TransferResponse",
    "paymentResponses": "PaymentResponse",
    "prebookResponses": "PrebookResponse",
}
EXTRA_SCHEMAS = ("AccountingDocumentEntity", "ProcessingStatusGetBatchRequest", "DeleteRequest")
PUSH_SCHEMAS = {"Subscription-Input": "SubscriptionEntity", "NotificationPayload": None}


def _slim(schema, rename=None):
    """Keep only the validating keywords of one schema, recursively (refs stay refs)."""
    if "$ref" in schema:
        name = schema["$ref"][len(REF_PREFIX) :]
        return {"$ref": (rename or {}).get(name) or name}
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            return _slim_combinator(schema, combinator, rename)
    out = {key: schema[key] for key in KEPT_KEYWORDS if key in schema}
    if "properties" in schema:
        out["properties"] = {
            name: _slim(prop, rename) for name, prop in schema["properties"].items()
        }
    if "items" in schema:
        out["items"] = _slim(schema["items"], rename)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = True
    return out


def _slim_combinator(schema, combinator, rename):
    """allOf with one ref, or anyOf [X, null], both as used by the push API spec."""
    parts = schema[combinator]
    non_null = [part for part in parts if part.get("type") != "null"]
    out = _slim(non_null[0], rename) if len(non_null) == 1 else {}
    if len(non_null) < len(parts):
        out["nullable"] = True
    return out


def _collect(schemas, roots, rename=None):
    """Slim every schema reachable from roots."""
    result, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if name in result:
            continue
        slim = _slim(schemas[name], rename)
        result[(rename or {}).get(name) or name] = slim
        todo.extend(_refs(schemas[name]))
    return result


def _refs(schema):
    if isinstance(schema, dict):
        if "$ref" in schema:
            yield schema["$ref"][len(REF_PREFIX) :]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _bulk_limits(description):
    """Parse "It is 100 for A, B and C, 200 for vendors, 500 for most other APIs"."""
    sentence = re.search(r"The record limit varies by endpoint\.(.*?)Size", description, re.DOTALL)
    if not sentence:
        sys.exit("bulk limit sentence not found in info.description")
    limits, default = {}, None
    for count, names in re.findall(r"(\d+) for ((?:(?!\d+ for ).)+)", sentence.group(1)):
        if "other" in names:
            default = int(count)
            continue
        for name in re.split(r",| and ", names):
            name = name.strip(" .")
            if name:
                limits[name[0].lower() + name[1:]] = int(count)
    size = re.search(r"limited to (\d+) ?mb", description, re.IGNORECASE)
    return limits, default, int(size.group(1)) * 1024 * 1024


def _page_size(operation):
    for param in operation.get("parameters") or ():
        if param["name"] == "pageSize":
            found = re.search(r"between (\d+) and (\d+)", param.get("description", ""))
            return {
                "default": param["schema"].get("default"),
                "min": int(found.group(1)) if found else 1,
                "max": int(found.group(2)) if found else param["schema"].get("default"),
            }
    return None


def _json_schema(operation_part):
    content = (operation_part or {}).get("content", {})
    return content.get("application/json", {}).get("schema", {})


def _wrapper_key(spec, operation):
    ref = _json_schema(operation["responses"].get("200")).get("$ref", "")
    response = spec["components"]["schemas"].get(ref[len(REF_PREFIX) :], {})
    keys = [k for k, v in response.get("properties", {}).items() if v.get("type") == "array"]
    return keys[0] if len(keys) == 1 else None


def _item_schema(operation):
    schema = _json_schema(operation.get("requestBody"))
    schema = schema.get("items", schema)
    return schema.get("$ref", "")[len(REF_PREFIX) :] or None


def _query_enum(operation, name):
    for param in operation.get("parameters") or ():
        if param["name"].lower() == name.lower():
            return param["schema"].get("enum")
    return None


def _endpoints(spec, limits, default_limit):
    paths, result = spec["paths"], {}
    for name, (path, entity_type, scope) in ENDPOINTS.items():
        result[name] = {
            "path": path,
            "schema": _item_schema(paths[path]["post"]),
            "entityType": entity_type,
            "scope": scope,
            "wrapper": _wrapper_key(spec, paths[path]["get"]),
            "bulkLimit": limits.get(name, default_limit),
            "pageSize": _page_size(paths[path]["get"]),
        }
    documents = paths[DOCUMENTS_PATH]["get"]
    result["accountingDocuments"] = {
        "path": DOCUMENTS_PATH,
        "schema": "AccountingDocumentEntity",
        "scope": "accountingDocuments",
        "wrapper": _wrapper_key(spec, documents),
        "bulkLimit": limits.get("accountingDocuments", default_limit),
        "pageSize": _page_size(documents),
    }
    for name, entity_type in RESPONSE_ENDPOINTS.items():
        operation = paths[f"{DOCUMENTS_PATH}/{{invoiceId}}/{name}"]["post"]
        result[name] = {
            "path": f"{DOCUMENTS_PATH}/{{invoiceId}}/{name}",
            "schema": _item_schema(operation),
            "entityType": entity_type,
            "scope": "accountingDocuments",
        }
    status_get = paths["/v1/requestStatus"]["get"]
    result["requestStatus"] = {
        "path": "/v1/requestStatus",
        "scope": "requestStatus",
        "wrapper": _wrapper_key(spec, status_get),
        "pageSize": _page_size(status_get),
    }
    return result


def _supported_values(description):
    """The push API lists allowed values in prose: "Supported values: 'A', 'B'."."""
    found = re.search(r"Supported values: (.*?)(?:\. |\.$)", description or "")
    return re.findall(r"'([^']+)'", found.group(1)) if found else None


def _push_part(push_spec):
    schemas = push_spec["components"]["schemas"]
    rename = {k: v for k, v in PUSH_SCHEMAS.items() if v}
    result = _collect(schemas, list(PUSH_SCHEMAS), rename)
    subscription = result["SubscriptionEntity"]
    for field in ("taskType", "taskSubType"):
        prose = schemas["Subscription-Input"]["properties"][field].get("description")
        values = _supported_values(prose)
        if values:
            subscription["properties"][field]["x-supportedValues"] = values
    return result


def build(spec, push_spec=None):
    limits, default_limit, max_bytes = _bulk_limits(spec["info"]["description"])
    endpoints = _endpoints(spec, limits, default_limit)
    roots = {ep["schema"] for ep in endpoints.values() if ep.get("schema")} | set(EXTRA_SCHEMAS)
    schemas = _collect(spec["components"]["schemas"], sorted(roots))
    if push_spec:
        schemas.update(_push_part(push_spec))
    flows = spec["components"]["securitySchemes"]["oauth2authentication"]["flows"]
    paths = spec["paths"]
    status_schema = spec["components"]["schemas"]["ConsumerLogEventUserView"]["properties"]
    return {
        "source": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "maxRequestBytes": max_bytes,
        "defaultBulkLimit": default_limit,
        "endpoints": endpoints,
        "scopes": sorted(flows["clientCredentials"]["scopes"]),
        "listKeys": _query_enum(paths["/v1/lists/{listKey}"]["post"], "listKey"),
        "processingStatuses": _query_enum(paths[DOCUMENTS_PATH]["get"], "processingStatus"),
        "p2pProcessingModes": _query_enum(paths[DOCUMENTS_PATH]["get"], "p2pProcessingMode"),
        "requestStatusEntityTypes": status_schema["entityType"]["enum"],
        "requestStatuses": status_schema["requestStatus"]["enum"],
        "schemas": dict(sorted(schemas.items())),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="Basware P2P OpenAPI JSON file")
    parser.add_argument("push_spec", nargs="?", help="Basware push notification OpenAPI JSON")
    parser.add_argument("-o", "--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    push = json.loads(Path(args.push_spec).read_text(encoding="utf-8")) if args.push_spec else None
    contract = build(spec, push)
    Path(args.output).write_text(
        json.dumps(contract, indent=1, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    sys.stdout.write(f"wrote {args.output}: {len(contract['schemas'])} schemas\n")


if __name__ == "__main__":
    main()
