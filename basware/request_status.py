"""Phase two results: what P2P did with each record of a POST (GET /v1/requestStatus)."""

from dataclasses import dataclass, field

from . import constants as c


@dataclass(frozen=True)
class ItemMessage:
    """One message Basware attached to a record (type Error, Warning or RecordExpired)."""

    type: "str | None" = None
    message: "str | None" = None
    category: "str | None" = None

    @classmethod
    def from_dict(cls, data):
        data = data if isinstance(data, dict) else {"message": str(data)}
        return cls(data.get("type"), data.get("message"), data.get("category"))

    def to_dict(self):
        return {"type": self.type, "message": self.message, "category": self.category}


@dataclass(frozen=True)
class ItemResult:
    """The processing result of one posted record in one target system."""

    external_code: "str | None"
    status: "str | None"
    parent_external_code: "str | None" = None
    system: "str | None" = None
    messages: tuple = ()

    @classmethod
    def from_dict(cls, data, system=None):
        return cls(
            external_code=data.get("externalCode"),
            status=data.get("status"),
            parent_external_code=data.get("parentExternalCode"),
            system=system,
            messages=tuple(ItemMessage.from_dict(error) for error in data.get("errors") or ()),
        )

    @property
    def is_success(self):
        """Saved in P2P (also with warnings, or skipped as identical: NotProcessed)."""
        return self.status in c.ITEM_STATUSES_OK

    @property
    def is_error(self):
        return self.status in c.ITEM_STATUSES_FAILED

    @property
    def is_pending(self):
        return self.status == c.ITEM_IN_PROGRESS

    @property
    def is_not_processed(self):
        return self.status == c.ITEM_NOT_PROCESSED

    @property
    def error_messages(self):
        return [m.message for m in self.messages if m.message and m.type != c.ITEM_WARNING]

    @property
    def warning_messages(self):
        return [m.message for m in self.messages if m.message and m.type == c.ITEM_WARNING]

    def to_dict(self):
        return {
            "external_code": self.external_code,
            "parent_external_code": self.parent_external_code,
            "status": self.status,
            "system": self.system,
            "messages": [m.to_dict() for m in self.messages],
        }


@dataclass(frozen=True)
class SystemStatus:
    """Aggregated status of a request in one target system (P2P, network...)."""

    system: "str | None"
    status: "str | None"
    module: "str | None" = None
    last_updated: "str | None" = None
    items: tuple = ()

    @classmethod
    def from_dict(cls, data):
        system = data.get("system")
        return cls(
            system=system,
            status=data.get("systemStatus"),
            module=data.get("module"),
            last_updated=data.get("lastUpdated"),
            items=tuple(ItemResult.from_dict(item, system) for item in data.get("items") or ()),
        )


@dataclass(frozen=True)
class RequestStatus:
    """Processing status of one POST, identified by Basware's x-amzn-RequestId."""

    request_id: "str | None"
    status: "str | None"
    entity_type: "str | None" = None
    operation_type: "str | None" = None
    last_updated: "str | None" = None
    systems: tuple = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data):
        return cls(
            request_id=data.get("requestId"),
            status=data.get("requestStatus"),
            entity_type=data.get("entityType"),
            operation_type=data.get("operationType"),
            last_updated=data.get("lastUpdated"),
            systems=tuple(SystemStatus.from_dict(s) for s in data.get("systems") or ()),
            raw=dict(data),
        )

    @classmethod
    def unknown(cls, request_id):
        """Basware does not know the request (yet): poll again later."""
        return cls(request_id=request_id, status=c.RS_UNKNOWN)

    @property
    def items(self):
        return [item for system in self.systems for item in system.items]

    @property
    def is_final(self):
        """Every target system is done with the request."""
        return self.status in c.REQUEST_STATUSES_FINAL

    @property
    def is_pending(self):
        return not self.is_final

    @property
    def has_errors(self):
        return self.status in (c.RS_ERROR, c.RS_ACKNOWLEDGED_ERROR) or any(
            item.is_error for item in self.items
        )

    def by_external_code(self):
        """Item results keyed by externalCode (the last system wins on duplicates)."""
        return {item.external_code: item for item in self.items}

    def to_dict(self):
        return {
            "request_id": self.request_id,
            "status": self.status,
            "entity_type": self.entity_type,
            "operation_type": self.operation_type,
            "last_updated": self.last_updated,
            "items": [item.to_dict() for item in self.items],
        }


def parse_request_statuses(data):
    """All RequestStatus entries of a RequestStatusResponse body."""
    if isinstance(data, dict):
        entries = data.get(c.REQUEST_STATUS_KEY) or []
    elif isinstance(data, list):
        entries = data
    else:
        entries = []
    return [RequestStatus.from_dict(entry) for entry in entries if isinstance(entry, dict)]
