"""A synthetic but realistic Carebridge deployment, written straight into its database.

A 5,000-person hospital: 300 channels (60 units, 40 roles, 199 committees and an
announcements channel), direct messages, edits, reactions, files (their archive_media rows:
metadata only, no bytes), sign-in and sign-out records at three shift changes (07:00, 15:00,
23:00), and calls (invite, answer, hang-up, with their call-log rows). About 50,000 archive
rows per simulated day, day after day, until the archive holds the asked number of rows.

Rows are sealed with the deployment's archive key and hash-chained exactly as the writer
does (bridge.archive.chain), so `archive verify` and `export` work on them, and inserted in
batches through the driver (sqlite3 / asyncpg COPY): this is a fixture generator, not the
code under test. The directory (5,000 people on three schedules, channels and members) and
one month of the sessions ledger (what reports read) are written once.

Two probe people and their direct-message room exist only in the first 10,000 rows: their
export must cost the same however large the archive grows.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bridge.archive.chain import GENESIS_HASH, RowMeta, event_aad, row_hash
from bridge.archive.keyring import Keyring

SERVER = "bench.carebridge"
TZ = "America/Chicago"
PEOPLE = 5000
UNITS, ROLES, COMMITTEES = 60, 40, 199
FIRST_DAY = date(2025, 3, 3)  # a Monday
MONTH_DAYS = 31
ROWS_PER_DAY = 50_000
PROBE_ROWS = 10_000
PROBE_A, PROBE_B = PEOPLE - 2, PEOPLE - 1
BUSY_CHANNEL, BUSY_PERSON = 1, 42
AUDIT_ROOM = f"!admins:{SERVER}"
BOT = f"@carebridge:{SERVER}"
SHIFTS = {  # name: (start hour, end hour)
    "day": (7, 15),
    "evening": (15, 23),
    "night": (23, 7),
}
_VOCABULARY = (
    "patient bed transfer labs ready vitals stable pain meds ordered consult cardiology "
    "discharge pending x-ray family waiting ICU ED triage room please check chart update "
    "handover note allergy dose given potassium repeat CT scan wound dressing mobility "
    "sats oxygen fluids urine output plan rounds attending resident nurse charge pharmacy"
)
WORDS = _VOCABULARY.split()
EVENT_COLUMNS = (
    "seq",
    "event_id",
    "room_id",
    "sender",
    "event_type",
    "state_key",
    "origin_ts",
    "received_ts",
    "source",
    "key_id",
    "ciphertext",
    "prev_hash",
    "row_hash",
)


def user(i: int) -> str:
    return f"@u{i:04d}:{SERVER}"


def channel_room(c: int) -> str:
    return f"!ch{c:03d}:{SERVER}"


def dm_room(a: int, b: int) -> str:
    lo, hi = sorted((a, b))
    return f"!dm{lo:04d}x{hi:04d}:{SERVER}"


ROTAS = {"a": (0, 1, 2, 3, 4), "b": (2, 3, 4, 5, 6)}  # weekdays a shift starts on
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def shift_of(i: int) -> tuple[str, str]:
    """(shift, rota) of person i."""
    return ("day", "evening", "night")[i % 3], "ab"[(i // 3) % 2]


def schedule_of(i: int) -> str:
    shift, rota = shift_of(i)
    return f"{shift}-{rota}"


def channels_of(i: int) -> tuple[int, ...]:
    """Channel numbers a person belongs to: unit, role, two committees (0 = announcements)."""
    unit = 1 + i % UNITS
    role = 1 + UNITS + (i // UNITS) % ROLES
    first = 1 + UNITS + ROLES + (i * 7) % COMMITTEES
    second = 1 + UNITS + ROLES + (i * 13 + 5) % COMMITTEES
    return (0, unit, role, first, second)


@dataclass
class Batch:
    """Rows for one insert: archive events, relations, media metadata, calls, DM rooms."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    relations: list[tuple[Any, ...]] = field(default_factory=list)
    media: list[tuple[Any, ...]] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    dm_rooms: list[tuple[Any, ...]] = field(default_factory=list)
    dm_members: list[tuple[Any, ...]] = field(default_factory=list)


class Hospital:
    """Generates the archive's events in order, day after day (deterministic per seed)."""

    def __init__(self, keyring: Keyring, seed: int = 20250303) -> None:
        self.keyring = keyring
        self.rng = random.Random(seed)
        self.seq = 0
        self.prev = GENESIS_HASH
        self.joined: set[tuple[str, str]] = set()
        self.created: set[str] = set()
        self.members: dict[str, list[str]] = {}
        self.recent: deque[tuple[str, str, str]] = deque(maxlen=2000)
        self.contacts = {i: [self.rng.randrange(PEOPLE - 2) for _ in range(4)] for i in range(PEOPLE - 2)}
        self._stream = self._events()

    # --- event shapes --------------------------------------------------------------
    def _text(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 30)))

    def _state(
        self, room: str, sender: str, etype: str, key: str, content: dict[str, Any], ts: int
    ) -> dict[str, Any]:
        return {
            "type": etype,
            "room_id": room,
            "sender": sender,
            "state_key": key,
            "origin_server_ts": ts,
            "content": content,
        }

    def _ensure_room(self, room: str, creator: str, ts: int, out: list[dict[str, Any]]) -> None:
        if room in self.created:
            return
        self.created.add(room)
        out.append(
            self._state(room, creator, "m.room.create", "", {"creator": creator, "room_version": "11"}, ts)
        )

    def _ensure_member(self, room: str, who: str, ts: int, out: list[dict[str, Any]]) -> None:
        if (room, who) not in self.joined:
            self.joined.add((room, who))
            self.members.setdefault(room, []).append(who)
            out.append(self._state(room, who, "m.room.member", who, {"membership": "join"}, ts))

    def _message(
        self, room: str, sender: str, ts: int, out: list[dict[str, Any]], content: dict[str, Any]
    ) -> None:
        self._ensure_member(room, sender, ts, out)
        out.append(self._ev("m.room.message", room, sender, ts, content))

    @staticmethod
    def _ev(etype: str, room: str, sender: str, ts: int, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": etype, "room_id": room, "sender": sender, "origin_server_ts": ts, "content": content}

    def _pick_person(self, probe: bool) -> int:
        return self.rng.choice((PROBE_A, PROBE_B)) if probe else self.rng.randrange(PEOPLE - 2)

    def _happening(self, ts: int, probe: bool) -> list[dict[str, Any]]:
        """One thing that happens at `ts` (one or a few events)."""
        out: list[dict[str, Any]] = []
        roll = self.rng.random()
        if probe:
            a, b = PROBE_A, PROBE_B
            room = dm_room(a, b)
            self._ensure_room(room, user(a), ts, out)
            self._ensure_member(room, user(b), ts, out)
            sender = user(self.rng.choice((a, b)))
            self._message(room, sender, ts, out, {"msgtype": "m.text", "body": self._text()})
            if roll < 0.3:
                ch = channel_room(1 + PROBE_A % UNITS)
                self._ensure_room(ch, BOT, ts, out)
                self._message(ch, sender, ts, out, {"msgtype": "m.text", "body": self._text()})
            return out
        if roll < 0.20:  # sign-in / sign-out records in the administrators' room
            who = user(self._pick_person(False))
            kind = "login" if self.rng.random() < 0.5 else "logout"
            content = {
                "kind": kind,
                "ts": ts,
                "user_id": who,
                "device_id": f"D{self.rng.randrange(10**6)}",
                "ip": "10.1.2.3",
                "user_agent": "Carebridge web",
                "version": 1,
            }
            out.append(self._ev("org.carebridge.session", AUDIT_ROOM, BOT, ts, content))
        elif roll < 0.62:  # channel messages (units busiest)
            # The emergency department's channel carries 15%; one charge nurse writes 2%.
            i = BUSY_PERSON if self.rng.random() < 0.02 else self._pick_person(False)
            chans = channels_of(i)
            where = self.rng.random()
            if where < 0.15:  # by one of the department's own staff
                i = UNITS * self.rng.randrange((PEOPLE - 2) // UNITS) + BUSY_CHANNEL - 1
                c = BUSY_CHANNEL
            else:
                c = chans[1] if where < 0.65 else self.rng.choice(chans[1:])
            room = channel_room(c)
            self._ensure_room(room, BOT, ts, out)
            self._message(room, user(i), ts, out, {"msgtype": "m.text", "body": self._text()})
        elif roll < 0.86:  # direct messages
            a = self._pick_person(False)
            b = self.rng.choice(self.contacts[a])
            if b == a:
                b = (a + 1) % (PEOPLE - 2)
            room = dm_room(a, b)
            if room not in self.created:
                self._ensure_room(room, user(a), ts, out)
                self._ensure_member(room, user(b), ts, out)
            self._message(room, user(a), ts, out, {"msgtype": "m.text", "body": self._text()})
        elif roll < 0.89 and self.recent:  # an edit of one's own recent message
            event_id, room, sender = self.rng.choice(self.recent)
            body = self._text()
            content = {
                "msgtype": "m.text",
                "body": "* " + body,
                "m.new_content": {"msgtype": "m.text", "body": body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            }
            self._message(room, sender, ts, out, content)
        elif roll < 0.95 and self.recent:  # a reaction
            event_id, room, _sender = self.rng.choice(self.recent)
            who = self.rng.choice(self.members[room])  # someone already in the room
            rel = {
                "rel_type": "m.annotation",
                "event_id": event_id,
                "key": self.rng.choice(("👍", "✅", "🙏")),
            }
            out.append(self._ev("m.reaction", room, who, ts, {"m.relates_to": rel}))
        elif roll < 0.97:  # a file (its metadata; the bytes are not generated)
            i = self._pick_person(False)
            room = channel_room(channels_of(i)[1])
            self._ensure_room(room, BOT, ts, out)
            mxc = f"mxc://{SERVER}/f{self.seq}x{self.rng.randrange(10**9)}"
            content = {
                "msgtype": "m.file",
                "body": "scan.pdf",
                "url": mxc,
                "info": {"mimetype": "application/pdf", "size": 48213},
            }
            self._message(room, user(i), ts, out, content)
        else:  # a call: invite, answer, hang-up in a DM
            a = self._pick_person(False)
            b = self.rng.choice(self.contacts[a])
            room = dm_room(a, b)
            self._ensure_room(room, user(a), ts, out)
            self._ensure_member(room, user(a), ts, out)
            self._ensure_member(room, user(b), ts, out)
            call_id = f"c{self.seq}x{self.rng.randrange(10**6)}"
            base = {"call_id": call_id, "version": "1"}
            offer = {**base, "lifetime": 60000, "offer": {"type": "offer", "sdp": "v=0 m=audio"}}
            answer = {**base, "answer": {"type": "answer", "sdp": "v=0 m=audio"}}
            out.append(self._ev("m.call.invite", room, user(a), ts, offer))
            out.append(self._ev("m.call.answer", room, user(b), ts + 4000, answer))
            out.append(self._ev("m.call.hangup", room, user(a), ts + 95000, base))
        return out

    def _events(self) -> Iterator[dict[str, Any]]:
        tz = ZoneInfo(TZ)
        day = 0
        while True:
            midnight = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), tz)
            base = int(midnight.timestamp() * 1000)
            # Busier by day than by night; more around the three shift changes.
            stamps = sorted(
                base + int(self.rng.betavariate(2.2, 2.0) * 86_400_000)
                if self.rng.random() < 0.85
                else base + (self.rng.choice((7, 15, 23)) * 3_600_000 + int(self.rng.gauss(0, 900_000)))
                for _ in range(int(ROWS_PER_DAY / 1.12))
            )
            for ts in stamps:
                yield from self._happening(ts, probe=self.seq < PROBE_ROWS and self.rng.random() < 0.03)
            day += 1

    # --- sealing -------------------------------------------------------------------
    def take(self, rows: int) -> Batch:
        """The next `rows` archive rows (sealed, chained) and their side-table rows."""
        batch = Batch()
        keyring = self.keyring
        while len(batch.events) < rows:
            event = next(self._stream)
            self.seq += 1
            seq = self.seq
            event["event_id"] = f"$e{seq}"
            ts = int(event["origin_server_ts"])
            received = ts + 150
            plaintext = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
            key_id, sealed = keyring.seal(plaintext, event_aad(event["event_id"], event["room_id"]))
            clear = (seq, event["event_id"], event["room_id"], event["sender"], event["type"])
            meta = RowMeta(*clear, event.get("state_key"), ts, received, "txn", key_id)
            digest = row_hash(self.prev, meta, sealed)
            batch.events.append(
                (*clear, meta.state_key, ts, received, "txn", key_id, sealed, self.prev, digest)
            )
            self.prev = digest
            self._side_rows(event, seq, ts, batch)
        return batch

    def _side_rows(self, event: dict[str, Any], seq: int, ts: int, batch: Batch) -> None:
        etype, room, content = event["type"], event["room_id"], event["content"]
        rel = content.get("m.relates_to") if isinstance(content, dict) else None
        if isinstance(rel, dict) and rel.get("event_id"):
            batch.relations.append((event["event_id"], seq, room, rel["event_id"], rel["rel_type"]))
        if etype == "m.room.message" and "m.relates_to" not in content:
            if event["sender"] not in (user(PROBE_A), user(PROBE_B)):
                self.recent.append((event["event_id"], room, event["sender"]))
            url = content.get("url")
            if isinstance(url, str):
                batch.media.append((url, room, event["event_id"], seq, "failed", 1, ts, "metadata-only"))
        elif etype == "m.room.create" and room.startswith("!dm"):
            batch.dm_rooms.append((room, event["sender"], ts))
        elif etype == "m.room.member" and room.startswith("!dm"):
            batch.dm_members.append((room, event["state_key"], "join", ts, ts))
        elif etype == "m.call.hangup":
            call = content["call_id"]
            a, b = room[3:].split(":")[0].split("x")
            caller = event["sender"]
            callee = user(int(b)) if caller == user(int(a)) else user(int(a))
            invite = (f"$e{seq - 2}", ts - 95000, ts - 91000, callee, None, None)
            ended = (ts, caller, "user_hangup", "answered", None)
            batch.calls.append((room, call, caller, callee, "audio", "1", 60000, 2, *invite, *ended))
