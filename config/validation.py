"""Turn pydantic validation errors into file:line:column: dotted.key messages."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from config.errors import ConfigError
from config.yamlfile import LoadedYaml

M = TypeVar("M", bound=BaseModel)


def _describe(err_type: str, msg: str) -> str:
    if err_type == "extra_forbidden":
        return "unknown key (check the spelling; see the example file)"
    if err_type == "missing":
        return "required key is missing"
    if err_type == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


def validate_document(model: type[M], doc: LoadedYaml, context: dict[str, object] | None = None) -> M:
    """Validate a loaded YAML document against a pydantic model.

    Every problem becomes one ConfigIssue naming the file, line, column and dotted key;
    the document's own reading problems (duplicate keys) are reported with them.
    """
    data = doc.data if doc.data is not None else {}
    issues = list(doc.problems)
    try:
        validated = model.model_validate(data, context=context)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            issues.append(doc.issue(loc, _describe(err["type"], err["msg"])))
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    return validated
