"""A small validator that walks the schemas of contract.json the way Basware's API layer does."""

import json
import re
from functools import lru_cache
from pathlib import Path

CONTRACT_FILE = Path(__file__).resolve().parent / "contract.json"
INT32 = (-(2**31), 2**31 - 1)
DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
# Order matters for naming a value's type: integer before number.
PYTHON_TYPES = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "integer": (int,),
    "number": (int, float),
}


@lru_cache(maxsize=1)
def contract():
    """The contract data, loaded once."""
    return json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))


class Validator:
    """Collects "<field path>: <what is wrong>" messages for one value against one schema."""

    def __init__(self, schemas=None):
        self.schemas = schemas if schemas is not None else contract()["schemas"]

    def errors(self, value, schema_name, path=""):
        """All problems of value against the named schema, as a list of messages."""
        found = []
        self._check(value, {"$ref": schema_name}, path, found)
        return found

    def _resolve(self, schema):
        while "$ref" in schema:
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self.schemas[schema["$ref"]], **extra}
        return schema

    def _check(self, value, schema, path, found):
        schema = self._resolve(schema)
        if value is None:
            if not schema.get("nullable"):
                found.append(f"{path or 'value'}: must not be null")
            return
        expected = schema.get("type")
        if expected and not _is_type(value, expected):
            found.append(f"{path or 'value'}: expected {expected}, got {_type_name(value)}")
            return
        if isinstance(value, str):
            self._check_string(value, schema, path, found)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_number(value, schema, path, found)
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{path}: '{value}' is not one of {', '.join(map(str, schema['enum']))}")
        if isinstance(value, dict):
            self._check_object(value, schema, path, found)
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                self._check(item, schema["items"], f"{path}[{index}]", found)

    def _check_string(self, value, schema, path, found):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']} characters")
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: shorter than {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path}: does not match the required pattern")
        if schema.get("format") == "date-time" and not DATE_TIME.match(value):
            found.append(f"{path}: '{value}' is not a valid date-time")
        supported = schema.get("x-supportedValues")
        if supported and value not in supported:
            found.append(f"{path}: '{value}' is not one of {', '.join(supported)}")

    def _check_object(self, value, schema, path, found):
        prefix = f"{path}." if path else ""
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                found.append(f"{prefix}{name}: field is required")
        if schema.get("additionalProperties") is False:
            for name in value:
                if name not in properties:
                    found.append(f"{prefix}{name}: unknown field")
        for name, item in value.items():
            if name in properties:
                self._check(item, properties[name], f"{prefix}{name}", found)


def _is_type(value, expected):
    if isinstance(value, bool) and expected != "boolean":
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, PYTHON_TYPES.get(expected, (object,)))


def _type_name(value):
    for name, types in PYTHON_TYPES.items():
        if isinstance(value, types) and not (isinstance(value, bool) and name != "boolean"):
            return name
    return type(value).__name__


def _check_number(value, schema, path, found):
    if schema.get("format") == "int32" and not INT32[0] <= value <= INT32[1]:
        found.append(f"{path}: out of the int32 range")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{path}: less than {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{path}: greater than {schema['maximum']}")
    low = _bound(schema, "exclusiveMinimum", "minimum")
    if low is not None and value <= low:
        found.append(f"{path}: must be greater than {low}")
    high = _bound(schema, "exclusiveMaximum", "maximum")
    if high is not None and value >= high:
        found.append(f"{path}: must be less than {high}")


def _bound(schema, exclusive_key, inclusive_key):
    """OpenAPI 3.0 uses a boolean with minimum/maximum; 3.1 carries the number itself."""
    bound = schema.get(exclusive_key)
    if isinstance(bound, bool):
        return schema.get(inclusive_key) if bound else None
    return bound
