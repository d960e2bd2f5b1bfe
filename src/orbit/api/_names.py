"""Name and label syntax: Kubernetes' rules, with Kubernetes' own error wording.

Object names, label keys and values, annotation keys, port names, environment
variable names and ConfigMap keys all follow the checks of
``k8s.io/apimachinery/pkg/util/validation``. Each ``is_*`` function is pure and returns
a list of messages, empty when the value is valid, so a caller can attach every message
to a field path and report all problems at once. Messages match Kubernetes' text
(including its quirks, such as the doubled space in ``'MyName',  or 'my.name'``), so a
user who searches for an error message finds Kubernetes' documentation of it.

Lengths are counted in UTF-8 bytes, as Go's ``len`` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orbit.errors import Issue

__all__ = [
    "DNS1035_LABEL_MAX_LENGTH",
    "DNS1123_LABEL_MAX_LENGTH",
    "DNS1123_SUBDOMAIN_MAX_LENGTH",
    "LABEL_VALUE_MAX_LENGTH",
    "QUALIFIED_NAME_MAX_LENGTH",
    "TOTAL_ANNOTATION_SIZE_LIMIT_BYTES",
    "is_c_identifier",
    "is_config_map_key",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_env_var_name",
    "is_qualified_name",
    "is_valid_label_value",
    "is_valid_port_name",
    "is_valid_port_num",
    "max_len_error",
    "regex_error",
    "validate_annotations",
    "validate_annotations_size",
    "validate_labels",
]

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024
_PORT_NAME_MAX_LENGTH = 15  # IANA_SVC_NAME (RFC 6335)


def max_len_error(length: int) -> str:
    """Kubernetes' "string too long" message."""
    return f"must be no more than {length} characters"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' ``RegexError``: the rule, examples and the regex it checks with."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _byte_len(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)

_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)

_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)


def is_dns1123_label(value: str) -> list[str]:
    """Check an RFC 1123 label (at most 63 characters): most namespaced object names,
    namespace names, container and port-less names."""
    errors = []
    if _byte_len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            # A valid subdomain but not a label: the length is checked above, so dots.
            errors.append("must not contain dots")
        else:
            errors.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def is_dns1123_subdomain(value: str) -> list[str]:
    """Check an RFC 1123 subdomain (at most 253 characters): the name of most kinds."""
    errors = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def is_dns1035_label(value: str) -> list[str]:
    """Check an RFC 1035 label (starts with a letter): Service names, which become DNS
    names and environment variable prefixes."""
    errors = []
    if _byte_len(value) > DNS1035_LABEL_MAX_LENGTH:
        errors.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errors.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors


_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_QUALIFIED_NAME_EXAMPLES = ("MyName", "my.name", "123-abc")


def is_qualified_name(value: str) -> list[str]:
    """Check a qualified name: label keys, annotation keys, resource names.

    An optional DNS subdomain prefix and ``/``, then a name of at most 63 characters
    of ``[A-Za-z0-9-_.]`` that starts and ends alphanumeric (``app.kubernetes.io/name``).
    """
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {msg}" for msg in is_dns1123_subdomain(prefix))
    else:
        rule = regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, *_QUALIFIED_NAME_EXAMPLES)
        return [
            f"a qualified name {rule} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif _byte_len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append(f"name part {max_len_error(QUALIFIED_NAME_MAX_LENGTH)}")
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        rule = regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, *_QUALIFIED_NAME_EXAMPLES)
        errors.append(f"name part {rule}")
    return errors


_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)


def is_valid_label_value(value: str) -> list[str]:
    """Check a label value: empty, or at most 63 characters like a qualified name's
    name part."""
    errors = []
    if _byte_len(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(
            regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errors


def validate_annotations_size(annotations: Mapping[str, str]) -> list[str]:
    """Check that keys and values together stay within 256 KiB (Kubernetes'
    ``TotalAnnotationSizeLimitB``), counted in bytes."""
    total = sum(_byte_len(key) + _byte_len(value) for key, value in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES:
        return [
            f"annotations size {total} is larger than limit {TOTAL_ANNOTATION_SIZE_LIMIT_BYTES}"
        ]
    return []


def is_valid_port_num(port: int) -> list[str]:
    """Check a port number: 1 to 65535."""
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE = re.compile("[a-z]")


def is_valid_port_name(port: str) -> list[str]:
    """Check an IANA_SVC_NAME (RFC 6335): at most 15 characters of ``[-a-z0-9]`` with at
    least one letter, no ``--``, not starting or ending with ``-``."""
    errors = []
    if _byte_len(port) > _PORT_NAME_MAX_LENGTH:
        errors.append(max_len_error(_PORT_NAME_MAX_LENGTH))
    if not _PORT_NAME_CHARSET_RE.fullmatch(port):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER_RE.search(port):
        errors.append("must contain at least one letter (a-z)")
    if "--" in port:
        errors.append("must not contain consecutive hyphens")
    if port.startswith("-") or port.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


_C_IDENTIFIER_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_C_IDENTIFIER_MSG = (
    "a valid C identifier must start with alphabetic character or '_', "
    "followed by a string of alphanumeric characters or '_'"
)
_C_IDENTIFIER_RE = re.compile(_C_IDENTIFIER_FMT)


def is_c_identifier(value: str) -> list[str]:
    """Check a C identifier (format only, not length): the strict rule for names that
    end up in shells, such as ``envFrom`` prefixes in older Kubernetes."""
    if _C_IDENTIFIER_RE.fullmatch(value):
        return []
    return [regex_error(_C_IDENTIFIER_MSG, _C_IDENTIFIER_FMT, "my_name", "MY_NAME", "MyName")]


_ENV_VAR_NAME_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters "
    "other than '='"
)


def is_env_var_name(value: str) -> list[str]:
    """Check an environment variable name with current Kubernetes' relaxed rule
    (``RelaxedEnvironmentVariableValidation``): non-empty, printable ASCII, no ``=``."""
    errors = []
    if not value:
        errors.append("environment variable name must be non-empty")
    for char in value:
        if not " " <= char <= "~" or char == "=":
            errors.append(_ENV_VAR_NAME_MSG)
            break
    return errors


_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_MAP_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_CONFIG_MAP_KEY_RE = re.compile(_CONFIG_MAP_KEY_FMT)


def is_config_map_key(value: str) -> list[str]:
    """Check a ConfigMap or Secret key: it becomes a file name in a volume, so ``.``,
    ``..`` and a leading ``..`` are refused as well."""
    errors = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _CONFIG_MAP_KEY_RE.fullmatch(value):
        errors.append(
            regex_error(
                _CONFIG_MAP_KEY_MSG, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"
            )
        )
    if value == ".":
        errors.append("must not be '.'")
    elif value == "..":
        errors.append("must not be '..'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


_SIMPLE_KEY_RE = re.compile("[A-Za-z_][A-Za-z0-9_]*")


def _entry_path(path: str, key: str) -> str:
    """``labels`` + ``app`` -> ``labels.app``; keys that are not identifiers go in
    brackets: ``labels[app.kubernetes.io/name]``."""
    if _SIMPLE_KEY_RE.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key}]"


def validate_labels(labels: Mapping[str, str], path: str) -> list[Issue]:
    """Every problem with a label map (``metadata.labels``, ``matchLabels``,
    ``nodeSelector``): bad keys are reported at ``path``, bad values at the entry."""
    issues: list[Issue] = []
    for key, value in labels.items():
        issues.extend(
            Issue(path, f'Invalid value: "{key}": {msg}') for msg in is_qualified_name(key)
        )
        issues.extend(
            Issue(_entry_path(path, key), f'Invalid value: "{value}": {msg}')
            for msg in is_valid_label_value(value)
        )
    return issues


def validate_annotations(annotations: Mapping[str, str], path: str) -> list[Issue]:
    """Every problem with ``metadata.annotations``: keys are qualified names compared
    case-insensitively (as Kubernetes does), and the total size is limited."""
    issues = [
        Issue(path, f'Invalid value: "{key}": {msg}')
        for key in annotations
        for msg in is_qualified_name(key.lower())
    ]
    for msg in validate_annotations_size(annotations):
        issues.append(Issue(path, f"Too long: {msg}"))
    return issues
