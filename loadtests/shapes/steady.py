"""steady: see loadtests/scenarios.py."""

from loadtests.scenarios import SCENARIOS
from loadtests.stages import ArrivalShape


class Steady(ArrivalShape):
    stages = SCENARIOS["steady"].stages
    thresholds = SCENARIOS["steady"].thresholds
