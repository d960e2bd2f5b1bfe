"""griffe extensions for the API reference: orbit's docstrings and attrs classes, as
mkdocstrings should show them.

- :class:`SphinxRolesAsMarkdown`: orbit's docstrings are Google-style (``Args:``), but
  their prose uses two reST habits that Markdown shows literally: Sphinx roles
  (``:class:`~orbit.Node```) and a paragraph ending in ``::`` before an indented
  example. mkdocstrings renders docstrings as Markdown, so this rewrites both as the
  docstrings are loaded, before they are parsed: a role becomes inline code (the last
  dotted part with ``~``, as Sphinx shows it), and ``::`` becomes ``:``.
- :class:`AttrsInit`: griffe reads source statically and re-creates the ``__init__``
  of dataclasses, not of attrs classes, so ``orbit.Node(name, runtime=None, *,
  capacity=None, ...)`` would show no signature and its ``Args:`` no types or
  defaults. This builds that ``__init__`` from the class's fields as attrs does:
  source order, ``default=`` / ``factory=`` / a plain value as the default,
  ``kw_only`` (on the class or the field), ``init=False`` left out, a leading
  underscore dropped from the argument's name, and a converter's parameter type as the
  argument's type.

The source stays as it is: ``help()`` and IDEs read it unchanged. Both are named in
``mkdocs.yml`` (the python handler's ``extensions:``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ATTRS_CLASS_DECORATORS = frozenset(
    {
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attr.mutable",
        "attr.dataclass",
    }
)
_ATTRS_FIELDS = frozenset({"attrs.field", "attr.ib", "attr.attrib", "attr.field"})

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|obj|data|exc|const|ref):`([^`]+)`")
_LITERAL_MARKER = re.compile(r"(?m)(\S)::$")
_BARE_MARKER = re.compile(r"(?m)^[ \t]*::[ \t]*$\n?")


def _role_text(match: re.Match[str]) -> str:
    target = match.group(1).strip()
    explicit = re.fullmatch(r"(.+?)\s*<[^>]+>", target)
    if explicit:
        return f"`{explicit.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    """``text`` with Sphinx roles as inline code and reST ``::`` markers as ``:``."""
    text = _ROLE.sub(_role_text, text)
    text = _BARE_MARKER.sub("", text)
    return _LITERAL_MARKER.sub(r"\1:", text)


class SphinxRolesAsMarkdown(griffe.Extension):
    """Rewrites every docstring griffe loads with :func:`markdown_docstring`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for each loaded object, before its docstring is parsed."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)


def _call_arguments(expr: object) -> dict[str, Any]:
    """The keyword arguments of a call expression (``{}`` for anything else)."""
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {
        argument.name: argument.value
        for argument in expr.arguments
        if isinstance(argument, griffe.ExprKeyword)
    }


def _attrs_decorator(cls: griffe.Class) -> griffe.Expr | str | None:
    for decorator in cls.decorators:
        value = decorator.value
        path = value.function.canonical_path if isinstance(value, griffe.ExprCall) else None
        if path is None and isinstance(value, griffe.Expr):
            path = value.canonical_path
        if path in _ATTRS_CLASS_DECORATORS:
            return value
    return None


def _converter_type(cls: griffe.Class, converter: object) -> str | griffe.Expr | None:
    """The first parameter's annotation of a converter defined in the class's module."""
    if not isinstance(converter, griffe.ExprName) or cls.parent is None:
        return None
    function = cls.parent.members.get(converter.name)
    if not isinstance(function, griffe.Function) or not function.parameters:
        return None
    annotation: str | griffe.Expr | None = next(iter(function.parameters)).annotation
    return annotation


def _attrs_parameters(cls: griffe.Class, class_kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if not isinstance(member, griffe.Attribute) or member.annotation is None:
            continue
        if "instance-attribute" not in member.labels:
            continue  # a ClassVar
        value = member.value
        field = (
            _call_arguments(value)
            if isinstance(value, griffe.ExprCall) and value.function.canonical_path in _ATTRS_FIELDS
            else None
        )
        if field is not None and field.get("init") == "False":
            continue
        if field is None:
            default = value
        elif "factory" in field:
            default = griffe.ExprCall(function=field["factory"], arguments=[])
        else:
            default = field.get("default")
        kw_only = class_kw_only or (field or {}).get("kw_only") == "True"
        annotation = _converter_type(cls, (field or {}).get("converter")) or member.annotation
        parameters.append(
            griffe.Parameter(
                str((field or {}).get("alias", "")).strip("'\"") or member.name.lstrip("_"),
                annotation=annotation,
                kind=griffe.ParameterKind.keyword_only
                if kw_only
                else griffe.ParameterKind.positional_or_keyword,
                default=default,
                docstring=member.docstring,
            )
        )
    positional = [p for p in parameters if p.kind is not griffe.ParameterKind.keyword_only]
    keyword = [p for p in parameters if p.kind is griffe.ParameterKind.keyword_only]
    return positional + keyword


class AttrsInit(griffe.Extension):
    """Gives attrs classes the ``__init__`` attrs generates (module docstring)."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        """Called by griffe once a class's members are loaded."""
        decorator = _attrs_decorator(cls)
        if decorator is None or "__init__" in cls.members:
            return
        options = _call_arguments(decorator)
        if options.get("init") == "False":
            return
        self_parameter = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
        init = griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=cls,
            parameters=griffe.Parameters(
                self_parameter,
                *_attrs_parameters(cls, options.get("kw_only") == "True"),
            ),
            returns="None",
        )
        cls.set_member("__init__", init)
