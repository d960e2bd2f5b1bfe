"""The generated part of the manifest reference matches the code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_manifest_reference", ROOT / "tools" / "gen_manifest_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    text = module.DOC.read_text()
    assert module.render(text) == text, "run: python tools/gen_manifest_reference.py"
    assert "`serviceAccountName`" in text
