"""Names the sandbox shares with Basware's API: paths, headers, statuses, error codes."""

TOKEN_PATH = "/v1/tokens"
STORAGE_PATH = "/_storage/accountingDocuments"
OPERATOR_PREFIX = "/_sandbox"

AUDIENCE = "OpenAPI"
TENANT_ID = "SANDBOX-TEST"
GRANT_TYPE = "client_credentials"
TOKEN_TYPE = "Bearer"

HEADER_AMZN_REQUEST_ID = "x-amzn-RequestId"
HEADER_CONTINUATION_OUT = "X-amz-meta-continuationToken"
HEADER_CONTINUATION_IN = "x-amz-meta-continuationtoken"
HEADER_BW_REQUEST_ID = "X-BW-REQUEST-ID"
HEADER_SIGNATURE = "X-BWAPI-Signature-256"
HEADER_RETRY_AFTER = "Retry-After"
LOGGED_HEADERS = (
    HEADER_BW_REQUEST_ID,
    "Content-Type",
    "User-Agent",
    "Accept",
    HEADER_CONTINUATION_IN,
    "Host",
)

# accountingDocuments processingStatus values the sandbox moves invoices through.
WAITING_FOR_PREBOOK = "WaitingForPrebook"
PREBOOK_IN_PROGRESS = "PrebookInProgress"
PREBOOKED = "Prebooked"
PREBOOK_FAILED = "PrebookFailed"
WAITING_FOR_TRANSFER = "WaitingForTransfer"
TRANSFER_IN_PROGRESS = "TransferInProgress"
TRANSFERRED = "Transferred"
TRANSFER_FAILED = "TransferFailed"
PAID = "Paid"
STANDARD_MODE = "Standard"
RESPONSES_KEPT = 100  # Basware keeps the last 100 responses per invoice

# requestStatus values.
STATUS_SUCCESS = "Success"
STATUS_ERROR = "Error"
STATUS_ACK_SUCCESS = "AcknowledgedSuccess"
STATUS_ACK_ERROR = "AcknowledgedError"
ACKNOWLEDGED = {STATUS_SUCCESS: STATUS_ACK_SUCCESS, STATUS_ERROR: STATUS_ACK_ERROR}
ITEM_SUCCESS = "Success"
ITEM_NOT_PROCESSED = "NotProcessed"
ITEM_ERROR = "Error"
SYSTEM_P2P = "P2P"

# ResponseEntityList error types and codes.
TYPE_VALIDATION = "VALIDATION"
TYPE_BUSINESS = "BUSINESS"
TYPE_SECURITY = "SECURITY"
TYPE_TECHNICAL = "TECHNICAL"
CODE_SCHEMA = "SCHEMA_VALIDATION_ERROR"
CODE_PARAMETER = "PARAMETER_VALIDATION_ERROR"
CODE_TOKEN = "ACCESS_TOKEN_VALIDATION_ERROR"
CODE_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
CODE_NOT_FOUND = "ENTITY_NOT_FOUND"
CODE_DATA = "DATA_VALIDATION_FAILED"
CODE_MISMATCH = "EXTERNAL_CODE_MISMATCH"
CODE_UNEXPECTED = "UNEXPECTED_ERROR"
CODE_CONFLICT = "CONFLICT_IN_POST"

# Push notifications.
TASK_ACCOUNTING_DOCUMENTS = "AccountingDocuments"
TASK_REQUEST_STATUS = "RequestStatus"
TASK_CONNECTION_TEST = "ConnectionTest"
TASK_NEW = "New"
SUBTYPE_ALL = "All"
SUBSCRIPTION_WEBHOOK = "Webhook"
WEBHOOK_TIMEOUT = 10.0  # one number: Odoo's test harness wraps requests and needs it
TASK_LIFETIME_DAYS = 7

# Scope suffix per HTTP method.
SCOPE_ACTIONS = {"GET": "read", "POST": "write", "PATCH": "write", "DELETE": "delete"}
STORAGE_KEY_LIFETIME = 300  # seconds a redirect target stays valid
