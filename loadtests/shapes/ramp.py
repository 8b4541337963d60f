"""ramp: 5, 10, 20, 40 users, a minute each: steps that cross the HPA's CPU target, then hold."""

from loadtests.stages import StagedShape


class Ramp(StagedShape):
    stages = ((60, 5, 5), (60, 10, 5), (60, 20, 5), (60, 40, 5), (60, 40, 5))
