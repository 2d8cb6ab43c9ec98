"""Soak: kill -9 the driver again and again during a stream of commands, with Jira faults armed.

Run:  .venv/bin/python tests/bench/soak.py [--kills 50] [--guids 40]

It starts `jira-driver sim` and `jira-driver run` as real processes on loopback and streams
Advanced commands in small batches: one CREATE per GUID, then UPDATEs, RESOLVEs and REOPENs that
each carry a uniquely numbered comment, with a resolve hold of half a second, so alarms flap (a
RESOLVE taken back by the GUID's next command is Cancelled) and one ticket is resolved and reopened
again and again within seconds. Every `--interval` seconds (jittered) it kills the driver with SIGKILL and
starts it again on the same database, and it arms a random Jira fault now and then (503s, a
create processed but unanswered, a 429 with Retry-After, a slow answer past the timeout, a dropped
connection). Every batch carries an Idempotency-Key; one whose answer was cut off by a kill (it
may or may not have been committed) is sent again under the same key until a 202 is read.

At the end it disarms the faults, waits until every row is settled, and prints, from what the
simulator holds and the driver's log: acknowledged commands, lost (an acknowledged CREATE without
its ticket, an acknowledged comment not on its ticket, a RESOLVE or REOPEN neither Ok nor Cancelled),
duplicates (a GUID with two tickets, a comment posted twice, more of the driver's moves to a status
than Ok rows that made them), out of order (a ticket's comments not in the order they were sent),
transitions Ok but not in Jira (an Ok RESOLVE/REOPEN whose comment is not on the ticket, unless its
note says the ticket was already there; the driver's moves to each status fewer than the Ok rows
that made them; a ticket's final status not the one its last Ok transition row left), comments of
Cancelled rows that reached Jira, and Failed rows.
Targets (issues 9 and 15): 0 lost, 0 duplicates, 0 out of order, 0 transitions Ok but not in Jira,
over at least 50 kills.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import Proc, start, stop  # noqa: E402
from tests.bench.report import print_table, wait_settled  # noqa: E402

TRANSITIONS = "/rest/api/2/issue/{key}/transitions"
FAULTS = [
    {"kind": "503", "count": 3},
    {"kind": "drop_after", "count": 1, "method": "POST", "path": "/rest/api/2/issue"},
    {"kind": "drop_after", "count": 1, "method": "POST"},
    {"kind": "429", "count": 2, "retry_after": 1},
    {"kind": "slow_after", "count": 1, "seconds": 3},
    {"kind": "drop", "count": 2},
    # a transition of one ticket: refused unprocessed, done with the answer lost, done then
    # answered 500 (the path is filled in with a ticket's when armed)
    {"kind": "503", "count": 1, "method": "POST", "path": TRANSITIONS},
    {"kind": "drop", "count": 1, "method": "POST", "path": TRANSITIONS},
    {"kind": "drop_after", "count": 1, "method": "POST", "path": TRANSITIONS},
    {"kind": "status_after", "status": 500, "count": 1, "method": "POST", "path": TRANSITIONS},
]
ACTIONS = (("UPDATE", "u", 0.6), ("RESOLVE", "r", 0.25), ("REOPEN", "o", 0.15))
"""What follows a GUID's CREATE: the action, its comment's letter, its share of the stream."""


def write_config(path: Path, sim_url: str, db: Path) -> None:
    path.write_text(
        f"[jira]\nurl = {sim_url}\nusername = admin\npassword = admin\nticket_location = rest/api/2/issue\n"
        "timeout_seconds = 2\nmax_retries = 100\nretry_base_seconds = 0.05\nprobe_delay_seconds = 0.3\n"
        f"[driver]\ndatabase = {db}\nlisten = 127.0.0.1:0\n"
        "[update]\nmax_updates = 0\n[log]\nmax_entries = 0\nremove_older_than_days = 0\n"
        "[lifecycle]\nresolve_hold_seconds = 0.5\n"
    )


class Stream:
    """The commands to send, and which were acknowledged (202 read) or refused."""

    def __init__(self, guids: int, updates: int, seed: int) -> None:
        rng = random.Random(seed)
        self.pending: list[str] = [f"soak/{g}|CREATE|summary;soak {g}|" for g in range(guids)]
        later: list[tuple[int, int]] = [(g, n) for g in range(guids) for n in range(updates)]
        rng.shuffle(later)
        # comments of one GUID keep their numbers in order whatever the interleaving
        counters: Counter[int] = Counter()
        weights = [share for _, _, share in ACTIONS]
        for g, _ in later:
            counters[g] += 1
            action, letter, _ = rng.choices(ACTIONS, weights=weights)[0]
            self.pending.append(f"soak/{g}|{action}|comment;c{g}-{counters[g]:04d}{letter}|")
        self.acknowledged: list[str] = []
        self.row_of: dict[str, int] = {}
        """The log row id of each acknowledged command (the 202's `accepted`, in the batch's order)."""
        self.refused: list[str] = []
        self.resent = 0
        """Batches whose answer was lost and that were sent again under their key."""

    def answered(self, batch: list[str], answer: httpx.Response) -> None:
        """A batch's answer was read: out of the stream, acknowledged (with its rows) or refused."""
        del self.pending[: len(batch)]
        if answer.status_code == 202:
            self.acknowledged.extend(batch)
            for command, row in zip(batch, answer.json()["accepted"], strict=True):
                self.row_of[command] = int(row["id"])
        else:
            self.refused.extend(batch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--guids", type=int, default=40)
    parser.add_argument("--updates", type=int, default=25, help="comment updates per GUID")
    parser.add_argument("--interval", type=float, default=1.2, help="seconds between kills (jittered)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to settle at the end")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-soak-"))
    stream = Stream(args.guids, args.updates, args.seed)
    total = len(stream.pending)
    print(f"jira-driver soak: {total} commands over {args.guids} GUIDs, {args.kills} kills, faults armed")
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    ini = tmp / "soak.ini"
    write_config(ini, sim.url, tmp / "driver.db")
    argv = [python, "-m", "driver", "run", "--config", str(ini)]
    drv: Proc | None = start(argv, tmp / "driver-0.log")
    lock = threading.Lock()
    done = threading.Event()

    def feed() -> None:
        # Every batch has an Idempotency-Key, and a batch whose answer was lost (the driver was
        # killed mid-request) is sent again under it, as a careful client does: the driver must
        # queue it exactly once, whether or not the first try was committed.
        number = 0
        while stream.pending and not done.is_set():
            with lock:
                current = drv
            if current is None:
                time.sleep(0.02)
                continue
            batch = stream.pending[: args.batch]
            try:
                answer = httpx.post(
                    f"{current.url}/api/advanced",
                    content="\n".join(batch),
                    headers={"Content-Type": "text/plain", "Idempotency-Key": f"soak-{number}"},
                    timeout=5,
                )
            except httpx.HTTPError as exc:
                if not isinstance(exc, httpx.ConnectError):
                    stream.resent += 1
                time.sleep(0.05)  # the same batch again, under the same key, once a driver answers
                continue
            stream.answered(batch, answer)
            number += 1
            time.sleep(pause)

    # spread the stream over the whole run, so that every kill falls in the middle of it
    # (each kill also costs a restart of a second or two, during which the stream waits)
    pause = max(0.01, args.kills * (args.interval + 0.8) / max(1, total / args.batch))
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    kills = 0
    try:
        while kills < args.kills and stream.pending:
            time.sleep(args.interval * (0.5 + rng.random()))
            if rng.random() < 0.5:
                fault = dict(rng.choice(FAULTS))
                fault["path"] = str(fault.get("path", "")).format(key=f"OPS-{rng.randint(1, args.guids)}")
                httpx.post(f"{sim.url}/_sim/faults", json=fault, timeout=5).raise_for_status()
            with lock:
                assert drv is not None
                os.kill(drv.process.pid, signal.SIGKILL)
                drv.process.wait()
                drv = None
            kills += 1
            restarted = start(argv, tmp / f"driver-{kills}.log")
            with lock:
                drv = restarted
        # the rest of the stream goes to the last driver (the kills are over), then it settles
        feeder.join(timeout=120)
        done.set()
        feeder.join(timeout=10)
        httpx.delete(f"{sim.url}/_sim/faults", timeout=5)
        assert drv is not None
        with httpx.Client(base_url=drv.url, timeout=30) as api:
            failed = wait_settled(api, args.timeout, poll=0.2)
            reasons = Counter(
                str(r["error"])[:120]
                for r in api.get("/api/log", params={"status": "Failed", "limit": 1000}).json()["rows"]
            )
            log = log_rows(api)
        issues, moves = what_jira_holds(sim.url)
    finally:
        if drv is not None:
            stop(drv)
        stop(sim)
        shutil.rmtree(tmp, ignore_errors=True)

    verdict = judge(stream, log, issues, moves)
    lost, duplicates, out_of_order = verdict.lost, verdict.duplicates, verdict.out_of_order
    unapplied, cancelled_sent = verdict.unapplied, verdict.cancelled_sent
    figures = [
        ("kills (SIGKILL)", f"{kills}", ">= 50"),
        ("commands acknowledged", f"{len(stream.acknowledged)}", f"of {total} in the stream"),
        ("batches resent, answer lost", f"{stream.resent}", "(same Idempotency-Key)"),
        ("commands refused", f"{len(stream.refused)}", "0"),
        ("lost", f"{lost}", "0"),
        ("duplicates", f"{duplicates}", "0"),
        ("tickets out of order", f"{out_of_order}", "0"),
        (
            "transition rows",
            f"{sum(1 for r in log if r['action'] in ('RESOLVE', 'REOPEN'))}",
            "(Ok or Cancelled)",
        ),
        ("  of them Cancelled in their hold", f"{sum(1 for r in log if r['status'] == 'Cancelled')}", ""),
        ("transitions Ok but not in Jira", f"{unapplied}", "0"),
        ("comments of Cancelled rows in Jira", f"{cancelled_sent}", "0"),
        ("rows Failed", f"{failed}", "0"),
    ]
    print_table(figures)
    for reason, count in reasons.most_common(5):
        print(f"  failed x{count}: {reason}")
    return 0 if verdict.clean else 1


@dataclass(frozen=True)
class Judgement:
    """What the simulator and the driver's log say of a stream (see the module docstring)."""

    lost: int
    duplicates: int
    out_of_order: int
    unapplied: int
    cancelled_sent: int

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicates == self.out_of_order == self.unapplied == self.cancelled_sent == 0


def judge(
    stream: Stream,
    log: list[dict[str, Any]],
    issues: list[dict[str, Any]],
    moves: dict[str, list[tuple[str, str]]],
) -> Judgement:
    """The stream's acknowledged commands against the simulator's issues and the driver's log."""
    tickets: dict[str, list[dict[str, object]]] = defaultdict(list)
    for item in issues:
        summary = str(item["fields"]["summary"])
        if summary.startswith("soak "):
            tickets[summary.removeprefix("soak ")].append(item)
    duplicates = sum(len(found) - 1 for found in tickets.values() if len(found) > 1)
    comments: dict[str, list[str]] = {}
    for guid, found in tickets.items():
        texts = [str(c["body"]) for item in found for c in item["fields"]["comment"]["comments"]]  # type: ignore[index]
        comments[guid] = texts
        seen = Counter(texts)
        duplicates += sum(n - 1 for n in seen.values() if n > 1)
    by_id = {int(r["id"]): r for r in log}
    by_comment = {
        comment_of(command): by_id[row] for command, row in stream.row_of.items() if "comment;" in command
    }
    lost = 0
    for command in stream.acknowledged:
        guid = command.split("|")[0].removeprefix("soak/")
        if "|CREATE|" in command:
            lost += guid not in tickets
            continue
        text = comment_of(command)
        row = by_comment.get(text)
        if "|UPDATE|" in command:
            lost += text not in comments.get(guid, [])
        elif row is None or row["status"] not in ("Ok", "Cancelled"):
            lost += 1
    out_of_order = sum(1 for texts in comments.values() if texts != sorted(texts))
    unapplied, cancelled_sent, extra_moves = check_transitions(by_comment, comments, tickets, moves)
    duplicates += extra_moves
    return Judgement(lost, duplicates, out_of_order, unapplied, cancelled_sent)


def comment_of(command: str) -> str:
    """The numbered comment a soak command carries."""
    return command.split("comment;")[1].split("|")[0]


def log_rows(api: httpx.Client) -> list[dict[str, Any]]:
    """Every row of the driver's log, oldest first (GET /api/log, paged by before_id)."""
    rows: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if before is not None:
            params["before_id"] = before
        page = api.get("/api/log", params=params).json()["rows"]
        if not page:
            return list(reversed(rows))
        rows.extend(page)
        before = min(int(r["id"]) for r in page)


def what_jira_holds(sim_url: str) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, str]]]]:
    """The simulator's issues, and the driver's status changes of each of the soak's tickets."""
    issues: list[dict[str, Any]] = httpx.get(f"{sim_url}/_sim/issues", timeout=30).json()
    moves = {
        str(item["key"]): driver_moves(sim_url, str(item["key"]))
        for item in issues
        if str(item["fields"]["summary"]).startswith("soak ")
    }
    return issues, moves


def driver_moves(sim_url: str, key: str) -> list[tuple[str, str]]:
    """The driver's status changes of one ticket, oldest first: (status category, status name)."""
    issue = httpx.get(
        f"{sim_url}/rest/api/2/issue/{key}",
        params={"expand": "changelog"},
        auth=("admin", "admin"),
        timeout=30,
    ).json()
    moves: list[tuple[str, str]] = []
    for history in issue["changelog"]["histories"]:
        if history["author"].get("name") != "admin":
            continue
        for item in history["items"]:
            if item["field"] == "status":
                moves.append(("done" if item["toString"] in DONE_STATUSES else "open", str(item["toString"])))
    return moves


DONE_STATUSES = {"Done", "Resolved", "Closed"}


def check_transitions(
    by_comment: dict[str, dict[str, Any]],
    comments: dict[str, list[str]],
    tickets: dict[str, list[dict[str, Any]]],
    moves: dict[str, list[tuple[str, str]]],
) -> tuple[int, int, int]:
    """(RESOLVE/REOPEN rows Ok but not in Jira, comments of Cancelled rows in Jira, the driver's
    moves beyond its Ok rows), from the log rows by their command's comment and what the simulator
    holds (see the module docstring). A row counts once however many of its checks fail."""
    bad: set[int] = set()
    cancelled_sent = extra = 0
    by_guid: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for text, row in sorted(by_comment.items(), key=lambda item: int(item[1]["id"])):
        if row["action"] in ("RESOLVE", "REOPEN"):
            by_guid[str(row["guid"]).removeprefix("soak/")].append((text, row))
    for guid, transitions in by_guid.items():
        on_ticket = comments.get(guid, [])
        made: dict[str, list[int]] = {"done": [], "open": []}
        last: tuple[str, int] | None = None
        for text, row in transitions:
            target = "done" if row["action"] == "RESOLVE" else "open"
            note = str(row.get("note") or "")
            if row["status"] == "Cancelled":
                cancelled_sent += text in on_ticket
                continue
            if row["status"] != "Ok":
                continue
            last = (target, int(row["id"]))
            if "is already in" in note:
                continue  # nothing sent: the ticket was there (the note says the comment was not added)
            made[target].append(int(row["id"]))
            if text not in on_ticket:
                bad.add(int(row["id"]))
                print(f"  Ok but its comment is not on the ticket: log #{row['id']} {text} note={note!r}")
        found = tickets.get(guid) or []
        key = str(found[0]["key"]) if found else ""
        ours = Counter(category for category, _ in moves.get(key, []))
        for category in ("done", "open"):
            short = len(made[category]) - ours[category]
            if short > 0:
                bad.update(made[category][-short:])
                print(
                    f"  {key}: {len(made[category])} Ok rows moved it to {category},"
                    f" Jira shows {ours[category]}"
                )
            extra += max(0, -short)
        if last is not None and found:
            category = found[0]["fields"]["status"]["statusCategory"]["key"]
            now = "done" if category == "done" else "open"
            if now != last[0]:
                bad.add(last[1])
                print(
                    f"  {key}: its last Ok transition row (log #{last[1]}) left it {last[0]},"
                    f" Jira shows {now}"
                )
    unapplied = len(bad)
    return unapplied, cancelled_sent, extra


if __name__ == "__main__":
    raise SystemExit(main())
