"""Response helpers shared by the sandbox routes."""

import json

from werkzeug.wrappers import Response

from .constants import CODE_PARAMETER, CODE_SCHEMA, HEADER_AMZN_REQUEST_ID, TYPE_VALIDATION

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml"
# The storage behind Basware's redirects answers errors the way S3 does.
S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message></Error>"
)


class ApiError(Exception):
    """An answer other than success: status plus ResponseEntityList errors (or a raw body)."""

    def __init__(self, status, errors=(), body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.errors = list(errors)
        self.body = body
        self.headers = headers or {}


def error(external_code, err_type, code, message, info=None):
    """One ErrorEntity of a ResponseEntityList."""
    return {
        "externalCode": external_code,
        "type": err_type,
        "code": code,
        "message": message,
        "info": info,
    }


def validation_error(message, external_code=None):
    return error(external_code, TYPE_VALIDATION, CODE_SCHEMA, message, "Schema validation failed")


def unauthorized():
    """The gateway's 401: the spec gives it no body schema; this is API Gateway's body."""
    return ApiError(401, body={"message": "Unauthorized"}, headers={"WWW-Authenticate": "Bearer"})


def parameter_error(message):
    problem = error(None, TYPE_VALIDATION, CODE_PARAMETER, message, "Invalid parameter")
    return ApiError(400, [problem])


def json_response(data, status=200, headers=None):
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, headers=headers or {}, content_type=JSON_TYPE)


def error_response(exc, request_id):
    """Render an ApiError: a raw body when given, else Basware's ResponseEntityList."""
    headers = {HEADER_AMZN_REQUEST_ID: request_id, **exc.headers}
    if exc.body is not None:
        return json_response(exc.body, exc.status, headers)
    if not exc.errors:
        return Response(status=exc.status, headers=headers)
    body = {"requestId": request_id, "hasErrors": True, "errors": exc.errors}
    return json_response(body, exc.status, headers)


def parse_json(request):
    """The request body as JSON, or a 400 SCHEMA_VALIDATION_ERROR."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, [validation_error("body: a JSON body is required")])
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, [validation_error(f"body: invalid JSON ({exc})")]) from exc


def lower_args(request):
    """Query parameters with lower-cased names (Basware's own spelling varies)."""
    return {key.lower(): value for key, value in request.args.items()}


def s3_error(status, code, message, headers=None):
    body = S3_ERROR.format(code=code, message=message)
    return Response(body, status=status, headers=headers or {}, content_type=XML_TYPE)
