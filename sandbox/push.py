"""Subscriptions, tasks and the notifications pushed to webhook URLs."""

import threading
import uuid
from datetime import datetime, timedelta, timezone

from .constants import (
    SUBSCRIPTION_WEBHOOK,
    SUBTYPE_ALL,
    TASK_CONNECTION_TEST,
    TASK_LIFETIME_DAYS,
    TASK_NEW,
    TASK_REQUEST_STATUS,
    TYPE_VALIDATION,
)
from .http import ApiError, json_response, lower_args, parse_json
from .paging import is_after, updated_after
from .store import now_iso

SUBSCRIPTIONS = "subscriptions"
TASKS = "tasks"
SCHEMA = "SubscriptionEntity"
NOT_FOUND = {"detail": "Not Found"}
DEFAULT_SUBTYPE_REQUEST_STATUS = "Error"


def _push_error(status, messages, request_id):
    """The push API's ValidationErrorResponse (it differs from the P2P ResponseEntityList)."""
    return ApiError(
        status,
        body={
            "requestId": request_id,
            "hasError": True,
            "errorMessages": [
                {"type": TYPE_VALIDATION, "code": "SCHEMA_VALIDATION_ERROR", "message": m}
                for m in messages
            ],
        },
    )


def default_subtype(task_type):
    return DEFAULT_SUBTYPE_REQUEST_STATUS if task_type == TASK_REQUEST_STATUS else SUBTYPE_ALL


def expiration():
    moment = datetime.now(timezone.utc) + timedelta(days=TASK_LIFETIME_DAYS)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PushRoutes:
    """Mixin of SandboxApp."""

    def post_subscriptions(self, request):
        body = parse_json(request)
        if not isinstance(body, list) or not body:
            raise _push_error(400, ["body: expected a non-empty JSON array"], request.request_id)
        problems = []
        for index, item in enumerate(body):
            problems += self.validator.errors(item, SCHEMA, f"[{index}]")
            if isinstance(item, dict) and item.get("subscriptionType") not in (
                None,
                SUBSCRIPTION_WEBHOOK,
            ):
                problems.append(f"[{index}].subscriptionType: only 'Webhook' is supported")
        if problems:
            raise _push_error(400, problems, request.request_id)
        saved = []
        for item in body:
            self._connection_test(item, request.request_id)
            subtype = item.get("taskSubType") or default_subtype(item["taskType"])
            record = {**item, "taskSubType": subtype, "lastUpdated": now_iso()}
            self.store.put(SUBSCRIPTIONS, f"{item['taskType']}:{subtype}", record)
            saved.append(record)
        return json_response(saved)

    def _connection_test(self, item, request_id):
        """Basware checks a new endpoint with a ConnectionTest notification; it must answer 200."""
        payload = self._payload(
            TASK_CONNECTION_TEST,
            item.get("taskSubType") or SUBTYPE_ALL,
            "ConnectionTest",
            str(uuid.uuid4()),
        )
        status = self.notifier.deliver(item["notificationWebhookURL"], payload, self._secret(item))
        if status != 200:
            message = (
                "notificationWebhookURL: the endpoint did not answer the ConnectionTest "
                f"notification with 200 OK (got {status or 'no answer'})"
            )
            raise _push_error(400, [message], request_id)

    def get_subscriptions(self, request):
        args = lower_args(request)
        after = updated_after(args)
        found = [
            record
            for _seq, record in self.store.items(SUBSCRIPTIONS)
            if _same(record["taskType"], args.get("tasktype"))
            and _same(record["taskSubType"], args.get("tasksubtype"))
            and is_after(record, after)
        ]
        if not found:
            raise ApiError(404, body=NOT_FOUND)
        return json_response({"subscriptions": found})

    def delete_subscriptions(self, request):
        args = lower_args(request)
        missing = [p for p in ("lastUpdated", "taskType", "taskSubType") if not args.get(p.lower())]
        if missing:
            raise ApiError(422, body={"message": f"{', '.join(missing)}: field required"})
        after = updated_after(args)
        deleted = 0
        for key, record in self._subscription_items():
            if (
                _wild(record["taskType"], args["tasktype"])
                and _wild(record["taskSubType"], args["tasksubtype"])
                and is_after(record, after)
            ):
                deleted += self.store.delete(SUBSCRIPTIONS, key)
        return json_response({"status": "Deleted successfully", "numberOfRecordsDeleted": deleted})

    def _subscription_items(self):
        return [
            (f"{r['taskType']}:{r['taskSubType']}", r)
            for _seq, r in self.store.items(SUBSCRIPTIONS)
        ]

    def get_tasks(self, request, task_id=None):
        args = lower_args(request)
        after = updated_after(args)
        found = [
            task
            for _seq, task in self.store.items(TASKS)
            if (task_id is None or task["taskId"] == task_id)
            and _same(task["taskType"], args.get("tasktype"))
            and _same(task["taskStatus"], args.get("taskstatus"))
            and _same(task["documentId"], args.get("documentid"))
            and is_after(task, after)
        ]
        if not found:
            raise ApiError(404, body=NOT_FOUND)
        return json_response({"taskStatus": found})

    # notifications ----------------------------------------------------------------------
    def notify(self, task_type, subtype, document_id, delay=0.0):
        """Create a task and push it to every matching subscription (in the background)."""
        subscribers = [
            r
            for _k, r in self._subscription_items()
            if r["taskType"] == task_type and r["taskSubType"] in (subtype, SUBTYPE_ALL)
        ]
        if not subscribers:
            return None
        payload = self._payload(task_type, subtype, document_id)
        now = now_iso()
        self.store.put(
            TASKS,
            payload["taskId"],
            {
                **payload,
                "lastUpdated": now,
                "taskHistory": [
                    {"action": TASK_NEW, "timeStamp": now, "messages": ["Task Created"]}
                ],
            },
        )
        copies = 2 if self.faults.settings.duplicate_webhooks else 1
        for subscription in subscribers:
            args = (
                subscription["notificationWebhookURL"],
                payload,
                self._secret(subscription),
                copies,
            )
            if delay:
                timer = threading.Timer(delay, self.notifier.push, args)
                timer.daemon = True
                timer.start()
            else:
                self.notifier.push(*args)
        return payload

    def _payload(self, task_type, subtype, document_id, task_id=None):
        return {
            "taskId": task_id or str(uuid.uuid4()),
            "taskStatus": TASK_NEW,
            "taskType": task_type,
            "taskSubType": subtype,
            "documentId": document_id,
            "expirationTime": expiration(),
        }

    def _secret(self, subscription):
        """The subscription's token signs, unless the server was given webhook_secret."""
        return self.webhook_secret or subscription["webhookAuthenticationToken"]


def _same(value, wanted):
    return not wanted or (value or "").lower() == wanted.lower()


def _wild(value, wanted):
    return wanted == SUBTYPE_ALL or _same(value, wanted)
