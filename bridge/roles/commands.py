"""The bot's role commands, for every member of the organisation (staff commands: typed
in a direct chat with the bot, a role room or a channel the bot is in). Element and other
clients without the Carebridge web client's controls use these:

- `!who ROLE`: who holds it now, until when (or where its messages go while it is empty);
- `!roles`: every role and its holders;
- `!role ROLE`: open your conversation with the role (it appears in your room list);
- `!take ROLE` / `!release ROLE`: take a role for the rest of its shift (where the org
  file allows it) or give it up;
- `!away [@forward-to]` / `!back`: do not disturb, with an optional forward-to.
Urgent messages need no command: start a message with `!urgent`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bridge.commands.framework import Command, CommandError, Invocation, Reply, parse_user
from bridge.roles.service import RoleError, RoleService
from policy.roles import route, who_holds

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _role_arg(inv: Invocation) -> str:
    if len(inv.args) != 1 or not _NAME.fullmatch(inv.args[0].lower()):
        raise CommandError("Name one role, e.g. er-charge-nurse (type !roles for the list).")
    return inv.args[0].lower()


def role_commands(service: Callable[[], RoleService]) -> list[Command]:
    """The commands; `service` gives the started feature's RoleService."""

    async def refused(action: Awaitable[str]) -> list[Reply]:
        try:
            return [Reply(await action)]
        except RoleError as exc:
            return [Reply(str(exc))]

    async def who(inv: Invocation) -> list[Reply]:
        name = _role_arg(inv)
        desk = service().desk
        now = desk.now_ms()
        facts = await desk.store.facts(now)
        if name not in facts:
            return [Reply(f"There is no role {name!r}; type !roles for the list.")]
        away = await desk.store.away(now)
        holding = who_holds(facts[name], now, away)
        title = facts[name].spec.display_name
        if holding.holders and not holding.away:
            until = max((c.end_ms for c in holding.covers), default=None)
            when = f", until {await desk.hhmm(until)}" if until is not None else ""
            return [
                Reply(f"{title}: {await desk.names(list(holding.holders))} ({holding.reason.value}{when}).")
            ]
        goes = route(name, facts, now, away)
        where = await desk.names(list(goes.readers)) if goes.readers else "the administrators"
        state = "its holder is away" if holding.away else "nobody holds it now"
        return [Reply(f"{title}: {state}; messages to it go to {where}.")]

    async def roles(inv: Invocation) -> list[Reply]:
        if inv.args:
            raise CommandError("!roles takes no arguments.")
        lines = []
        for role in await service().overview(inv.sender):
            names = ", ".join(h["display_name"] + (" (away)" if h["away"] else "") for h in role["holders"])
            lines.append(f"{role['display_name']} ({role['name']}): {names or 'nobody'}")
        return [Reply("\n".join(lines) or "No roles are defined in the org file.")]

    async def open_role(inv: Invocation) -> list[Reply]:
        name = _role_arg(inv)

        async def go() -> str:
            await service().open_room(name, inv.sender)
            return (
                f"Your conversation with {name} is open: it is in your room list. "
                "Messages there reach whoever holds it."
            )

        return await refused(go())

    async def take(inv: Invocation) -> list[Reply]:
        return await refused(service().take(_role_arg(inv), inv.sender))

    async def release(inv: Invocation) -> list[Reply]:
        return await refused(service().release(_role_arg(inv), inv.sender, inv.sender))

    async def away(inv: Invocation) -> list[Reply]:
        if len(inv.args) > 1:
            raise CommandError("Usage: !away [@colleague-to-forward-to]")
        forward = parse_user(inv.args[0], inv.server_name) if inv.args else None
        return await refused(service().set_away(inv.sender, True, forward, None))

    async def back(inv: Invocation) -> list[Reply]:
        return await refused(service().set_away(inv.sender, False, None, None))

    return [
        Command("who", "!who ROLE", "who holds a role now", who, staff=True),
        Command("roles", "!roles", "every role and who holds it", roles, staff=True),
        Command("role", "!role ROLE", "open your conversation with a role", open_role, staff=True),
        Command("take", "!take ROLE", "take a role for the rest of its shift", take, staff=True),
        Command("release", "!release ROLE", "give a role up", release, staff=True),
        Command(
            "away", "!away [@forward-to]", "do not disturb (urgent messages forwarded)", away, staff=True
        ),
        Command("back", "!back", "end do not disturb", back, staff=True),
    ]
