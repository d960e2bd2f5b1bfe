"""``wait_for`` conditions: kubectl-wait forms as predicates, and the timeout message."""

from __future__ import annotations

from typing import Any

import pytest
from node_builders import pod_from

from orbit._wait import compile_condition, describe


def web(phase: str = "Running", ready: str = "True") -> Any:
    return pod_from(
        {
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "x"}]},
            "status": {
                "phase": phase,
                "qosClass": "BestEffort",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": ready,
                        "reason": "" if ready == "True" else "ContainersNotReady",
                    }
                ],
            },
        }
    )


@pytest.mark.parametrize(
    ("condition", "obj", "met"),
    [
        ("Running", web(), True),
        ("running", web(), True),
        ("Succeeded", web(), False),
        ("Ready", web(), True),
        ("ready", web(ready="False"), False),
        ("condition=Ready", web(), True),
        ("condition=Ready=False", web(ready="False"), True),
        ("condition=Ready=false", web(ready="False"), True),
        ("status.phase=Running", web(), True),
        ("status.phase=Pending", web(), False),
        ("{.status.qosClass}=BestEffort", web(), True),
        ("jsonpath={.status.qos_class}=BestEffort", web(), True),
        ("metadata.labels.app=web", web(), True),
        ("status.nothing.here=x", web(), False),
        ("deleted", None, True),
        ("delete", web(), False),
        ("Running", None, False),
    ],
)
def test_conditions(condition: str, obj: Any, met: bool) -> None:
    check, _ = compile_condition(condition)
    assert check(obj) is met


def test_predicates_get_the_object_and_never_none() -> None:
    seen = []

    def restarted(pod: Any) -> bool:
        seen.append(pod)
        return True

    check, words = compile_condition(restarted)
    assert check(None) is False
    assert check(web()) is True
    assert len(seen) == 1
    assert words == "match restarted"


def test_the_last_state_is_described() -> None:
    assert describe(None) == "it does not exist"
    assert (
        describe(web(ready="False"))
        == "last state: phase=Running, Ready=False (ContainersNotReady)"
    )
