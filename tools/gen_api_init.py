"""Regenerate src/orbit/api/__init__.py from the private modules' ``__all__`` lists.

Run from the repository root after adding a public name to an ``orbit.api`` module:
``python tools/gen_api_init.py && ruff check --fix -q src/orbit/api/__init__.py``.
``tests/unit/test_exported_members.py`` checks the result is sorted and complete.
"""

import ast
import pathlib

root = pathlib.Path("src/orbit/api")
order = [
    "_meta",
    "_quantity",
    "_names",
    "_labels",
    "_fields",
    "_selector",
    "_cron",
    "_container",
    "_affinity",
    "_pod",
    "_node",
    "_workloads",
    "_batch",
    "_service",
    "_event",
    "_config",
    "_quota",
    "_policy",
    "_autoscaling",
    "_codec",
    "_ports",
    "_merge",
    "_validation",
    "_load",
]
private = {
    "_codec": {
        "DecodeContext",
        "child_path",
        "decode_into",
        "ignored_fields",
        "wire_name",
        "format_time",
    }
}
lines = [
    '"""orbit\'s API: typed, immutable objects for every kind orbit runs, quantities,',
    "label selectors, and manifest load/dump. This layer imports nothing of orbit but",
    '``orbit.errors``."""',
    "",
    "# Validators register themselves on import.",
    "from . import _validate_all as _validate_all",
    "",
]
names = []
for mod in order:
    p = root / f"{mod}.py"
    if not p.exists():
        print("missing", mod)
        continue
    t = ast.parse(p.read_text())
    exported = []
    for n in t.body:
        if isinstance(n, ast.Assign) and any(getattr(x, "id", "") == "__all__" for x in n.targets):
            exported = ast.literal_eval(n.value)
    exported = [e for e in exported if e not in private.get(mod, set()) and e not in names]
    for e in exported:
        lines.append(f"from .{mod} import {e} as {e}")
    names += exported
lines += ["", "__all__ = ["] + [f'    "{n}",' for n in sorted(names)] + ["]", ""]
(root / "__init__.py").write_text("\n".join(lines))
print(len(names), "names")
