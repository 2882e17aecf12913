"""Facts of the Basware Purchase-to-Pay API contract, kept in one place.

Paths, limits, headers and enumerations follow Basware's published OpenAPI descriptions (P2P API
file 26.06.05.402, authentication and push notification APIs)."""

# Hosts. Only the EU hosts are published; other regions must be checked with Basware
# provisioning, so they default to the same two hosts and the settings form says so.
REGION_EU = "eu"
REGION_US = "us"
REGION_AU = "au"
REGION_CA = "ca"
ENVIRONMENT_PRODUCTION = "production"
ENVIRONMENT_TEST = "test"
DEFAULT_REGION = REGION_EU
DEFAULT_ENVIRONMENT = ENVIRONMENT_TEST
PRODUCTION_HOST_URL = "https://api.basware.com"
TEST_HOST_URL = "https://test-api.basware.com"
ENDPOINTS = {
    (REGION_EU, ENVIRONMENT_PRODUCTION): PRODUCTION_HOST_URL,
    (REGION_EU, ENVIRONMENT_TEST): TEST_HOST_URL,
}
# Hosts of production tenants: a neutralized database never calls them, whatever the
# backend's environment label says. Any subdomain counts (regional production hosts).
PRODUCTION_HOSTS = ("api.basware.com",)

# Upper bounds of the transport settings: beyond them a stuck call holds a cron worker.
MAX_CONNECT_TIMEOUT = 60
MAX_READ_TIMEOUT = 300
MAX_HTTP_ATTEMPTS = 10

# OAuth2 client credentials (token endpoint on the API host).
TOKEN_PATH = "/v1/tokens"
GRANT_TYPE_CLIENT_CREDENTIALS = "client_credentials"
TOKEN_TYPE_BEARER = "Bearer"
TOKEN_ERROR_INVALID_CLIENT = "invalid_client"
TOKEN_ERROR_INVALID_SCOPE = "invalid_scope"
TOKEN_ERROR_UNAUTHORIZED_CLIENT = "unauthorized_client"
# JWT claims Basware puts in its access tokens.
CLAIM_ISSUER = "iss"
CLAIM_TENANT = "bwcid"
CLAIM_SCOPE = "scope"
CLAIM_EXPIRES = "exp"
# Refresh early: never closer than this to expiry (seconds).
MIN_REFRESH_MARGIN = 60.0

# The minimal scope set the connector needs (space separated, as the token form expects).
DEFAULT_SCOPES = (
    "vendors.read",
    "vendors.write",
    "accounts.read",
    "accounts.write",
    "costCenters.read",
    "costCenters.write",
    "lists.read",
    "lists.write",
    "projects.read",
    "projects.write",
    "taxCodes.read",
    "taxCodes.write",
    "paymentTerms.read",
    "paymentTerms.write",
    "matchingOrders.read",
    "matchingOrders.write",
    "matchingOrderLines.read",
    "matchingOrderLines.write",
    "accountingDocuments.read",
    "accountingDocuments.write",
    "requestStatus.read",
    "requestStatus.write",
    "subscriptions.read",
    "subscriptions.write",
    "subscriptions.delete",
    "tasks.read",
)
DEFAULT_SCOPE = " ".join(DEFAULT_SCOPES)

# Headers.
HEADER_AUTHORIZATION = "Authorization"
HEADER_ACCEPT = "Accept"
HEADER_CONTENT_TYPE = "Content-Type"
HEADER_USER_AGENT = "User-Agent"
HEADER_LOCATION = "Location"
HEADER_RETRY_AFTER = "Retry-After"
HEADER_REQUEST_ID = "X-BW-REQUEST-ID"
HEADER_AMZN_REQUEST_ID = "x-amzn-RequestId"
# Sent lower case on the request; Basware answers "X-amz-meta-continuationToken".
HEADER_CONTINUATION_TOKEN = "x-amz-meta-continuationtoken"
HEADER_CONTENT_DISPOSITION = "Content-Disposition"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_ANY = "*/*"
CONTENT_TYPE_BINARY = "application/octet-stream"
BEARER_PREFIX = "Bearer "

# API paths.
VENDORS_PATH = "/v1/vendors"
ACCOUNTS_PATH = "/v1/accounts"
COST_CENTERS_PATH = "/v1/costCenters"
LISTS_PATH = "/v1/lists/{list_key}"
PROJECTS_PATH = "/v2/projects"
TAX_CODES_PATH = "/v1/taxCodes"
PAYMENT_TERMS_PATH = "/v1/paymentTerms"
MATCHING_ORDERS_PATH = "/v1/matchingOrders"
MATCHING_ORDER_LINES_PATH = "/v1/matchingOrderLines"
ACCOUNTING_DOCUMENTS_PATH = "/v1/accountingDocuments"
ACCOUNTING_DOCUMENT_PATH = "/v1/accountingDocuments/{invoice_id}"
ACKNOWLEDGE_PATH = "/v1/accountingDocuments/{invoice_id}/acknowledge"
TRANSFER_RESPONSES_PATH = "/v1/accountingDocuments/{invoice_id}/transferResponses"
PAYMENT_RESPONSES_PATH = "/v1/accountingDocuments/{invoice_id}/paymentResponses"
ATTACHMENT_PATH = "/v1/accountingDocuments/{invoice_id}/attachments/{attachment_code}"
REQUEST_STATUSES_PATH = "/v1/requestStatus"
REQUEST_STATUS_PATH = "/v1/requestStatus/{request_id}"
REQUEST_STATUS_ACKNOWLEDGE_PATH = "/v1/requestStatus/acknowledge"
SUBSCRIPTIONS_PATH = "/v1/subscriptions"

# Query parameters (spelled as in Basware's OpenAPI description).
PARAM_PAGE_SIZE = "pageSize"
PARAM_COMPANY_CODE = "companyCode"
PARAM_LAST_UPDATED = "lastUpdated"
PARAM_PROCESSING_STATUS = "ProcessingStatus"
PARAM_P2P_PROCESSING_MODE = "p2pProcessingMode"
# Spelled so on the single request status call (the list call spells it otherwise).
PARAM_IGNORE_SUCCESSFUL_ITEMS = "ignoreSuccessfulItems"
PARAM_TASK_TYPE = "taskType"
PARAM_TASK_SUB_TYPE = "taskSubType"

# Bulk limits per POST request, and the request size limit.
DEFAULT_BULK_LIMIT = 500
BULK_LIMITS = {
    VENDORS_PATH: 200,
    ACCOUNTING_DOCUMENTS_PATH: 100,
    MATCHING_ORDER_LINES_PATH: 100,
}
# Basware allows 6 MB per request; stay below both readings of "MB".
MAX_REQUEST_BYTES = 6_000_000

# Page size maxima for GET lists.
DEFAULT_PAGE_SIZE_MAX = 500
PAGE_SIZE_MAX = {
    ACCOUNTING_DOCUMENTS_PATH: 100,
    MATCHING_ORDER_LINES_PATH: 100,
    VENDORS_PATH: 500,
}

# Wrapper keys of GET list responses ("vendorEntities" is Basware's spelling).
WRAPPER_KEYS = {
    VENDORS_PATH: "vendorEntities",
    ACCOUNTS_PATH: "accounts",
    COST_CENTERS_PATH: "costCenters",
    PROJECTS_PATH: "projects",
    TAX_CODES_PATH: "taxCodes",
    PAYMENT_TERMS_PATH: "paymentTerms",
    MATCHING_ORDERS_PATH: "matchingOrders",
    MATCHING_ORDER_LINES_PATH: "matchingOrderLines",
    ACCOUNTING_DOCUMENTS_PATH: "accountingDocuments",
    REQUEST_STATUSES_PATH: "requestStatus",
    SUBSCRIPTIONS_PATH: "subscriptions",
}
LIST_ITEMS_KEY = "listItems"
ACCOUNTING_DOCUMENTS_KEY = "accountingDocuments"
REQUEST_STATUS_KEY = "requestStatus"
REQUEST_IDS_KEY = "requestIds"

# Generic coding dimension lists (POST /v1/lists/{listKey}).
LIST_KEYS = (
    tuple(f"ACC_LIST_{n}" for n in range(1, 36))
    + tuple(f"INV_LIST_{n}" for n in range(1, 21))
    + tuple(f"CUST_RESOLVER_{n}" for n in range(1, 6))
)

# accountingDocuments processingStatus values.
PS_WAITING_FOR_TRANSFER = "WaitingForTransfer"
PS_TRANSFER_IN_PROGRESS = "TransferInProgress"
PS_TRANSFERRED = "Transferred"
PS_TRANSFER_FAILED = "TransferFailed"

# requestStatus: request level (and per target system) statuses.
RS_SUCCESS = "Success"
RS_ERROR = "Error"
RS_ACKNOWLEDGED_SUCCESS = "AcknowledgedSuccess"
RS_ACKNOWLEDGED_ERROR = "AcknowledgedError"
# Not a Basware value: the request id is not known (yet) to requestStatus (404).
RS_UNKNOWN = "Unknown"
REQUEST_STATUSES_FINAL = (RS_SUCCESS, RS_ERROR, RS_ACKNOWLEDGED_SUCCESS, RS_ACKNOWLEDGED_ERROR)

# requestStatus: per item statuses.
ITEM_IN_PROGRESS = "InProgress"
ITEM_NOT_PROCESSED = "NotProcessed"
ITEM_WARNING = "Warning"
ITEM_SUCCESS = "Success"
ITEM_ERROR = "Error"
# Saved in P2P (NotProcessed: identical to the version already there).
ITEM_STATUSES_OK = (ITEM_SUCCESS, ITEM_WARNING, ITEM_NOT_PROCESSED)
ITEM_STATUSES_FAILED = (ITEM_ERROR,)

# Push notifications (subscriptions and tasks).
TASK_TYPE_ACCOUNTING_DOCUMENTS = "AccountingDocuments"
TASK_TYPE_CONNECTION_TEST = "ConnectionTest"
TASK_SUB_TYPE_ALL = "All"
SUBSCRIPTION_TYPE_WEBHOOK = "Webhook"
WEBHOOK_URL_MAX_LENGTH = 2083

# HTTP behaviour.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
STATUS_NOT_FOUND = 404
STATUS_METHOD_NOT_ALLOWED = 405
# Field limit used to keep our own messages short.
RESPONSE_MESSAGE_MAX_LENGTH = 250
# Basware's externalCode is 1 to 36 characters.
EXTERNAL_CODE_MAX_LENGTH = 36

# Inbound invoices: the category of an accounting document's invoice image.
CATEGORY_ORIGINAL_IMAGE = "ORIGINALIMAGE"
