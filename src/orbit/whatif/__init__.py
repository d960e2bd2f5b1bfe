"""What-if runs: the same cluster and load under several HPA policies, in virtual time.

A :class:`WhatIf` names simulated nodes and node pools, manifests (a Deployment and
the HorizontalPodAutoscaler scaling it), a day-shaped load
(:func:`orbit.autoscaling.diurnal`, spread over the ready pods by
:class:`~orbit.autoscaling.SharedLoad`), a duration and the HPA ``behavior`` blocks to
compare. :func:`run_policies` runs each policy in its own simulated cluster under
:func:`orbit.simulate` (a day in seconds, the same seeded day for each) and
:func:`summarise` turns each run into a row: time above target, scalings, reversals
and flaps, pod- and node-hours, cost, pending pods. :func:`load_scenario` reads a
scenario file (the format is in :mod:`orbit.whatif._scenario`); :func:`write_report`
writes ``report.md``, ``report.json`` and a PNG. ``orbit sim`` and
``benchmarks/autoscaling.py`` are built on this package.

This package sits on top of :class:`orbit.Cluster` (it builds one per run).
"""

from ._report import compact_json as compact_json
from ._report import plot as plot
from ._report import write_report as write_report
from ._run import Day as Day
from ._run import Progress as Progress
from ._run import Recorder as Recorder
from ._run import run_day as run_day
from ._run import run_policies as run_policies
from ._run import run_policy as run_policy
from ._scenario import load_scenario as load_scenario
from ._scenario import parse_duration as parse_duration
from ._spec import Load as Load
from ._spec import NodeGroup as NodeGroup
from ._spec import PoolSpec as PoolSpec
from ._spec import WhatIf as WhatIf
from ._spec import above_target_cores as above_target_cores
from ._spec import manifests_for as manifests_for
from ._spec import target_cores_per_pod as target_cores_per_pod
from ._summary import TABLE as TABLE
from ._summary import markdown_table as markdown_table
from ._summary import reversals as reversals
from ._summary import summarise as summarise
from ._summary import summary_cells as summary_cells

__all__ = [
    "Day",
    "Load",
    "NodeGroup",
    "PoolSpec",
    "Progress",
    "Recorder",
    "TABLE",
    "WhatIf",
    "above_target_cores",
    "compact_json",
    "load_scenario",
    "manifests_for",
    "markdown_table",
    "parse_duration",
    "plot",
    "reversals",
    "run_day",
    "run_policies",
    "run_policy",
    "summarise",
    "summary_cells",
    "target_cores_per_pod",
    "write_report",
]
