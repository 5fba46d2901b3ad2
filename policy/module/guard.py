"""Wrapping module callbacks so an unexpected error is logged (ids only) and contained."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from policy.module.metrics import CALLBACK_ERRORS

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("carebridge.module")


def guarded(on_error: R) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorator: if the callback raises, log the exception type and return `on_error`.

    Arguments are never logged: they can carry message bodies or passwords.
    """

    def wrap(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(func)
        async def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - containment is the point
                log.error("carebridge callback %s failed: %s", func.__name__, type(exc).__name__)
                CALLBACK_ERRORS.labels(func.__name__).inc()
                return on_error

        return inner

    return wrap
