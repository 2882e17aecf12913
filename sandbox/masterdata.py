"""Master data and matching order endpoints: POST (upsert), GET list/one, PATCH, DELETE."""

from .constants import (
    CODE_DATA,
    CODE_MISMATCH,
    CODE_NOT_FOUND,
    HEADER_AMZN_REQUEST_ID,
    HEADER_CONTINUATION_OUT,
    ITEM_ERROR,
    ITEM_NOT_PROCESSED,
    ITEM_SUCCESS,
    TYPE_BUSINESS,
    TYPE_VALIDATION,
)
from .http import ApiError, error, json_response, lower_args, parse_json, validation_error
from .paging import has_company, is_after, page_size, updated_after
from .store import canonical, now_iso

# Entities whose records the sandbox keeps under another storage name than the endpoint.
MERGED_ARRAYS = {"matchingOrderLines": "goodsReceipts"}


def storage_name(endpoint, list_key=None):
    return f"{endpoint}/{list_key}" if list_key else endpoint


class MasterDataRoutes:
    """Mixin of SandboxApp: the entity endpoints named in contract.json."""

    def post_entities(self, request, endpoint, list_key=None):
        spec = self.endpoint(endpoint)
        records = self.parse_array(request, spec)
        self.validate_all(records, spec["schema"])
        # One lookup of the vendor codes per request, not per record.
        known = {}
        items = [self.upsert(endpoint, record, list_key, known) for record in records]
        self.record_request_status(
            request.request_id, spec["entityType"], "POST", items, list_key=list_key
        )
        return json_response(records, headers={HEADER_AMZN_REQUEST_ID: request.request_id})

    def get_entities(self, request, endpoint, list_key=None):
        spec = self.endpoint(endpoint)
        args = lower_args(request)
        size = page_size(args, spec["pageSize"])
        after = updated_after(args)
        company = args.get("companycode")
        rows = [
            (seq, record)
            for seq, record in self.store.items(storage_name(endpoint, list_key))
            if is_after(record, after) and has_company(record, company)
        ]
        page, token = self.pager.page(request, rows, size, request.path)
        if not page:
            raise ApiError(404)
        headers = {HEADER_CONTINUATION_OUT: token} if token else {}
        return json_response({spec["wrapper"]: page}, headers=headers)

    def get_entity(self, request, endpoint, external_code, list_key=None):
        record = self.store.get(storage_name(endpoint, list_key), external_code)
        if record is None:
            raise ApiError(404)
        return json_response(record)

    def patch_entity(self, request, endpoint, external_code, list_key=None):
        spec = self.endpoint(endpoint)
        name = storage_name(endpoint, list_key)
        current = self.store.get(name, external_code)
        if current is None:
            raise ApiError(404)
        changes = parse_json(request)
        if not isinstance(changes, dict):
            raise ApiError(400, [validation_error("body: expected a JSON object", external_code)])
        if changes.get("externalCode", external_code) != external_code:
            raise ApiError(
                400,
                [
                    error(
                        external_code,
                        TYPE_VALIDATION,
                        CODE_MISMATCH,
                        "externalCode: differs from the one in the path",
                    )
                ],
            )
        merged = merge(current, changes, MERGED_ARRAYS.get(endpoint))
        self.validate_all([merged], spec["schema"])
        item = self.upsert(endpoint, merged, list_key)
        self.record_request_status(
            request.request_id, spec["entityType"], "PATCH", [item], list_key=list_key
        )
        stored = self.store.get(name, external_code)
        return json_response(stored, headers={HEADER_AMZN_REQUEST_ID: request.request_id})

    def delete_entities(self, request, endpoint, list_key=None):
        """DELETE {externalCode} or {lastUpdated}: removes records from the API layer only."""
        body = parse_json(request)
        problems = self.validator.errors(body, "DeleteRequest")
        if problems:
            raise ApiError(400, [validation_error(m) for m in problems])
        name = storage_name(endpoint, list_key)
        if body.get("externalCode"):
            if not self.store.delete(name, body["externalCode"]):
                raise ApiError(404)
            return json_response({"taskName": "Delete", "taskStatus": "Completed"})
        moment = updated_after({"lastupdated": body.get("lastUpdated")})
        if moment is None:
            raise ApiError(400, [validation_error("externalCode or lastUpdated is required")])
        for _seq, record in self.store.items(name):
            if is_after(record, moment):
                self.store.delete(name, record["externalCode"])
        return json_response({"taskName": "Delete", "taskStatus": "Completed"}, status=202)

    # helpers ------------------------------------------------------------------------------
    def parse_array(self, request, spec):
        """The JSON array body within the bulk limits (count and size) of the endpoint."""
        self.check_size(request)
        records = parse_json(request)
        if not isinstance(records, list):
            raise ApiError(400, [validation_error("body: expected a JSON array of entities")])
        if not records:
            raise ApiError(400, [validation_error("body: the array is empty")])
        limit = spec.get("bulkLimit") or self.contract["defaultBulkLimit"]
        if len(records) > limit:
            raise ApiError(
                400,
                [
                    validation_error(
                        f"body: {len(records)} items, at most {limit} are allowed per request"
                    )
                ],
            )
        return records

    def check_size(self, request):
        """Basware takes at most maxRequestBytes (6 MB) per request."""
        limit = self.contract["maxRequestBytes"]
        size = len(request.get_data(cache=True))
        if size > limit:
            message = f"body: {size} bytes, at most {limit} bytes are allowed per request"
            raise ApiError(400, [validation_error(message)])

    def validate_all(self, records, schema):
        """400 with one error per problem when any record breaks the schema."""
        errors = []
        for index, record in enumerate(records):
            code = record.get("externalCode") if isinstance(record, dict) else None
            for message in self.validator.errors(record, schema, f"[{index}]"):
                errors.append(validation_error(message, code))
        if errors:
            raise ApiError(400, errors)

    def upsert(self, endpoint, record, list_key=None, known=None):
        """Store one record; the requestStatus item says Success, NotProcessed or Error."""
        name = storage_name(endpoint, list_key)
        code = record["externalCode"]
        text = canonical(record)
        if self.store.canonical_of(name, code) == text:
            return {"externalCode": code, "status": ITEM_NOT_PROCESSED, "errors": []}
        problems = self.business_errors(endpoint, record, {} if known is None else known)
        stored = {**record, "lastUpdated": now_iso()}
        # A record P2P refused is processed again even when re-sent unchanged.
        self.store.put(name, code, stored, "" if problems else text)
        if problems:
            errors = [
                {"type": "Error", "message": m, "category": "DataValidation"} for m in problems
            ]
            return {"externalCode": code, "status": ITEM_ERROR, "errors": errors}
        return {"externalCode": code, "status": ITEM_SUCCESS, "errors": []}

    def business_errors(self, endpoint, record, known):
        """Checks P2P makes after the API layer accepted the schema (reported in requestStatus).

        ``known`` caches lookups for the records of one request.
        """
        problems = []
        if endpoint == "matchingOrders":
            if "vendor_codes" not in known:
                vendors = self.store.items("vendors")
                known["vendor_codes"] = {vendor.get("vendorCode") for _seq, vendor in vendors}
            codes = known["vendor_codes"]
            if record.get("supplierCode") not in codes:
                problems.append(f"Supplier '{record.get('supplierCode')}' not found")
        if endpoint == "matchingOrderLines":
            if self.store.get("matchingOrders", record.get("orderExternalCode")) is None:
                problems.append(f"Order '{record.get('orderExternalCode')}' not found")
            if (record.get("quantity") or 0) <= 0:
                problems.append("The quantity must be higher than zero")
        return problems

    def endpoint(self, name):
        try:
            return self.contract["endpoints"][name]
        except KeyError:
            raise ApiError(404, [error(None, TYPE_BUSINESS, CODE_NOT_FOUND, name)]) from None

    def check_list_key(self, list_key):
        if list_key not in self.contract["listKeys"]:
            raise ApiError(
                400,
                [
                    error(
                        None,
                        TYPE_VALIDATION,
                        CODE_DATA,
                        f"listKey: '{list_key}' is not a valid list key",
                    )
                ],
            )


def merge(current, changes, merged_array=None):
    """PATCH semantics: top-level fields replace; merged_array items merge by externalCode."""
    result = {**current, **changes}
    result.pop("lastUpdated", None)
    if merged_array and merged_array in changes and isinstance(changes[merged_array], list):
        by_code = {i.get("externalCode"): i for i in current.get(merged_array) or ()}
        for item in changes[merged_array]:
            code = item.get("externalCode") if isinstance(item, dict) else None
            by_code[code] = {**by_code.get(code, {}), **item} if code else item
        result[merged_array] = list(by_code.values())
    return result
