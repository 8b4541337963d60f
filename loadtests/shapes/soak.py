"""soak: 20 users for 30 minutes. Leaks, drift, slow degradation."""

from loadtests.stages import StagedShape


class Soak(StagedShape):
    stages = ((1800, 20, 5),)
