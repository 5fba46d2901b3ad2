"""Looking at Carebridge's processes from outside: is a port taken, does a health URL
answer (and if not, why), is a pid alive. `carebridge up` waits on these while it starts
its children and watches them; `carebridge status` reports with them. Loopback URLs from
the settings only.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit


def port_in_use(host: str, port: int) -> bool:
    """True if something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET url answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL from config
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Health probe: `tcp://host:port` (something listens) or an HTTP URL answering 2xx."""
    if url.startswith("tcp://"):
        parts = urlsplit(url)
        return port_in_use(parts.hostname or "127.0.0.1", parts.port or 0)
    return http_ok(url, timeout)


def health_detail(url: str, timeout: float = 2.0) -> str:
    """Why an HTTP health URL is unhealthy, from its JSON `reasons` (empty if none given)."""
    if url.startswith("tcp://"):
        return ""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL from config
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (urllib.error.URLError, OSError, ValueError):
        return "not answering"
    try:
        reasons = json.loads(body).get("reasons")
    except (ValueError, AttributeError):
        return ""
    return ", ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
