"""Developer tooling: the embedded local stack, the emulator helpers shared with the tests, and benchmarks.

Never imported by the app or by the platform code.
"""
