"""Virtual time: an asyncio loop whose clock jumps to the next deadline when all wait.

``orbit.simulate(main)`` runs a coroutine function on a :class:`SimulationLoop`; the
loop's :class:`VirtualClock` is what ``orbit.clock.current_clock()`` returns inside, so
the control plane runs unmodified, a day of cluster life in seconds.
"""

from ._clock import SIMULATION_START as SIMULATION_START
from ._clock import VirtualClock as VirtualClock
from ._loop import SimulationLoop as SimulationLoop
from ._run import simulate as simulate

__all__ = ["SIMULATION_START", "SimulationLoop", "VirtualClock", "simulate"]
