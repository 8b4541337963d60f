"""spike: see loadtests/scenarios.py."""

from loadtests.scenarios import SCENARIOS
from loadtests.stages import ArrivalShape


class Spike(ArrivalShape):
    stages = SCENARIOS["spike"].stages
    thresholds = SCENARIOS["spike"].thresholds
