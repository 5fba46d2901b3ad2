"""The bot's `!commands`: the framework (registry, parsing, replies), the Dispatcher
consumer that answers them in the administrators' room and in DMs, and every command.

A feature offers its commands through `Feature.commands()` (bridge/feature.py); the
commands feature (feature.py here) collects them into one registry when the bridge is
built.
"""
