"""ramp: see loadtests/scenarios.py."""

from loadtests.scenarios import SCENARIOS
from loadtests.stages import ArrivalShape


class Ramp(ArrivalShape):
    stages = SCENARIOS["ramp"].stages
    thresholds = SCENARIOS["ramp"].thresholds
