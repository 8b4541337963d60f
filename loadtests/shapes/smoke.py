"""smoke: three users (one per kind) for 30 s. Does every endpoint answer at all?"""

from loadtests.stages import StagedShape


class Smoke(StagedShape):
    stages = ((30, 3, 3),)  # one user of each class
