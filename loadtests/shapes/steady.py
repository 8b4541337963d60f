"""steady: 20 users for 5 minutes. A baseline to compare backends on."""

from loadtests.stages import StagedShape


class Steady(StagedShape):
    stages = ((300, 20, 5),)
