"""spike: 5 users, a sudden 100 for a minute, back to 5. Cold starts and scale-out speed."""

from loadtests.stages import StagedShape


class Spike(StagedShape):
    stages = ((60, 5, 5), (60, 100, 100), (60, 5, 100))
