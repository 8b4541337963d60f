"""Locust scenarios for the users API, with declarative pass/fail thresholds and scaling checks.

A black box: it talks HTTP to a URL and learns about a deployment only from
``pulumi stack output --json``; it never imports the app or the platform.
"""
