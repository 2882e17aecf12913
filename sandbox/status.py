"""requestStatus: the asynchronous per-record results of every POST/PATCH."""

import time

from .constants import (
    ACKNOWLEDGED,
    CODE_NOT_ALLOWED,
    HEADER_CONTINUATION_OUT,
    ITEM_ERROR,
    STATUS_ERROR,
    STATUS_SUCCESS,
    SYSTEM_P2P,
    TASK_REQUEST_STATUS,
    TYPE_BUSINESS,
)
from .http import ApiError, error, json_response, lower_args, parse_json, validation_error
from .paging import is_after, page_size, updated_after
from .store import now_iso

ENTITY = "requestStatus"
IN_PROGRESS = "InProgress"
TRUE_VALUES = ("true", "1")


class RequestStatusRoutes:
    """Mixin of SandboxApp."""

    def record_request_status(self, request_id, entity_type, operation, items, list_key=None):
        """Store the outcome of one request; final at once unless processing_delay is set."""
        status = STATUS_ERROR if any(i["status"] == ITEM_ERROR for i in items) else STATUS_SUCCESS
        now = now_iso()
        record = {
            "requestId": request_id,
            "entityType": entity_type,
            "entityVersion": f"{entity_type}V1",
            "requestStatus": status,
            "changedBy": self.client_id,
            "operationType": operation,
            "genericListKey": list_key,
            "lastUpdated": now,
            "systems": [
                {
                    "system": SYSTEM_P2P,
                    "module": "IA",
                    "systemStatus": status,
                    "lastUpdated": now,
                    "items": items,
                }
            ],
            "_readyAt": time.time() + self.faults.settings.processing_delay,
        }
        self.store.put(ENTITY, request_id, record)
        self.notify_request_status(record)
        return record

    def get_request_statuses(self, request):
        args = lower_args(request)
        size = page_size(args, self.endpoint("requestStatus")["pageSize"])
        after = updated_after(args)
        wanted = args.get("status")
        if not wanted and not args.get("entitytype") and not args.get("system"):
            wanted = STATUS_ERROR  # Basware's default when the search is not narrowed down
        rows = []
        for seq, record in self.store.items(ENTITY):
            view = self.status_view(record, args.get("ignoresuccessfullitems"))
            if _matches(view, wanted, args.get("entitytype"), args.get("system")) and is_after(
                view, after
            ):
                rows.append((seq, view))
        page, token = self.pager.page(request, rows, size, request.path)
        if not page:
            raise ApiError(404)
        headers = {HEADER_CONTINUATION_OUT: token} if token else {}
        return json_response({"requestStatus": page}, headers=headers)

    def get_request_status(self, request, request_id):
        record = self.store.get(ENTITY, request_id)
        if record is None:
            raise ApiError(404)
        args = lower_args(request)
        view = self.status_view(record, args.get("ignoresuccessfulitems"))
        return json_response({"requestStatus": [view]})

    def acknowledge_request_statuses(self, request):
        body = parse_json(request)
        problems = self.validator.errors(body, "ProcessingStatusGetBatchRequest")
        if problems or not body.get("requestIds"):
            raise ApiError(400, [validation_error(m) for m in problems or ["requestIds: required"]])
        records = [self.store.get(ENTITY, rid) for rid in body["requestIds"]]
        if any(r is None for r in records):
            raise ApiError(404)
        if any(r["requestStatus"] not in ACKNOWLEDGED for r in records):
            raise ApiError(
                405,
                [
                    error(
                        None,
                        TYPE_BUSINESS,
                        CODE_NOT_ALLOWED,
                        "request already acknowledged or still in progress",
                    )
                ],
            )
        for record in records:
            acknowledged = ACKNOWLEDGED[record["requestStatus"]]
            record["requestStatus"] = acknowledged
            record["lastUpdated"] = now_iso()
            for system in record["systems"]:
                system["systemStatus"] = acknowledged
            self.store.put(ENTITY, record["requestId"], record)
        return json_response("Acknowledged")

    def status_view(self, record, ignore_successful=None):
        """The stored record as the API shows it now (InProgress until processing is done)."""
        view = {k: v for k, v in record.items() if not k.startswith("_")}
        skip_ok = str(ignore_successful).lower() in TRUE_VALUES
        systems = []
        for system in view["systems"]:
            items = system["items"]
            if time.time() < record.get("_readyAt", 0):
                items = [{**i, "status": IN_PROGRESS, "errors": []} for i in items]
                system = {**system, "systemStatus": IN_PROGRESS}
                view["requestStatus"] = IN_PROGRESS
            if skip_ok:
                items = [i for i in items if i["status"] != STATUS_SUCCESS]
            systems.append({**system, "items": items})
        view["systems"] = systems
        return view

    def notify_request_status(self, record):
        """Push a RequestStatus task to subscribers of that status (Error by default)."""
        self.notify(
            TASK_REQUEST_STATUS,
            record["requestStatus"],
            record["requestId"],
            delay=self.faults.settings.processing_delay,
        )


def _matches(view, status, entity_type, system):
    if status and view["requestStatus"] != status:
        return False
    if entity_type and view["entityType"] != entity_type:
        return False
    return not system or any(s["system"] == system for s in view["systems"])
