"""The compliance bot's commands: a small framework (registry, parsing, replies) and the
Dispatcher consumer that answers commands in the administrators' room and in DMs.

Features add their own commands to the registry, e.g.::

    registry.add(Command("calls", "!calls [DATE]", "Calls on a day", handler))
"""
