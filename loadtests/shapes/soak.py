"""soak: see loadtests/scenarios.py."""

from loadtests.scenarios import SCENARIOS
from loadtests.stages import ArrivalShape


class Soak(ArrivalShape):
    stages = SCENARIOS["soak"].stages
    thresholds = SCENARIOS["soak"].thresholds
