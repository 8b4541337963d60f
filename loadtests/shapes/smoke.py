"""smoke: see loadtests/scenarios.py."""

from loadtests.scenarios import SCENARIOS
from loadtests.stages import ArrivalShape


class Smoke(ArrivalShape):
    stages = SCENARIOS["smoke"].stages
    thresholds = SCENARIOS["smoke"].thresholds
