"""The demo's sample alarms: alarms raised, updated and cleared on a few network elements, some of
them resolved by a person in the simulator's Jira (heard back by its signed webhook), fed to the
driver through its API as Advanced commands.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from driver.contract.client import DriverClient, DriverClientError

ELEMENTS = ["core-router-01", "edge-sw-17", "dwdm-link-4", "encoder-7", "mux-bru-2", "sat-rx-3"]

PROBLEMS = [
    ("Interface down", "Critical"),
    ("High CPU load", "Major"),
    ("Signal loss on input", "Critical"),
    ("Temperature above threshold", "Minor"),
    ("Fan failure", "Major"),
    ("BER degraded", "Warning"),
]

RESOLVE_HOLD = 4.0

PERSON = "jsmith"
"""The simulator's person who resolves a ticket in Jira while its alarm is still active."""


@dataclass(frozen=True)
class Step:
    """One step of the feed, `delay` s after the previous: commands to send, or a person's act in Jira."""

    delay: float
    commands: tuple[str, ...] = ()
    resolve_in_jira: str = ""
    """The GUID whose ticket the person resolves (through the simulator's /_sim/act)."""


def sample_alarms(rng: random.Random) -> Iterator[Step]:
    """The feed: new alarms and their updates, alarms that clear, one that flaps inside the resolve
    hold, and one whose ticket a person resolves in Jira while the alarm is still active."""
    guids: list[str] = []
    for n in range(1, 7):
        element = ELEMENTS[n - 1]
        problem, severity = PROBLEMS[n - 1]
        guid = f"12/{3400 + n}/{rng.randint(10000, 99999)}"
        guids.append(guid)
        priority = {"Critical": "Highest", "Major": "High"}.get(severity, "Medium")
        yield Step(
            0.8,
            (
                f"{guid}|CREATE|summary;{element}: {problem}|priority;{priority}"
                f"|labels;demo,{element}|description;Raised by the demo feed on {element}.|",
            ),
        )
        if n % 2 == 0:
            yield Step(1.0, (f"{guid}|UPDATE|comment;Operator acknowledged {problem.lower()}.|",))
    flapping = "12/3999/1"
    yield Step(
        0.5, (f"{flapping}|CREATE|summary;mux-bru-2: Link flapping|priority;High|labels;demo,flapping|",)
    )
    # a flapping alarm: many updates in a short time; the limiter defers and merges them
    for i in range(1, 9):
        state = "CLEARED" if i % 2 == 0 else "RAISED"
        yield Step(0.4, (f"{flapping}|UPDATE|comment;Link state {state} (change {i})|",))
    yield Step(1.0, ("12/0000/404|UPDATE|comment;An update for an alarm that never had a ticket|",))
    # two alarms clear: their tickets are resolved once the hold has passed
    for guid in (guids[0], guids[2]):
        yield Step(0.8, (f"{guid}|RESOLVE|resolution;Fixed|comment;The alarm cleared.|",))
    # the flapping alarm clears, and is back within the hold: its RESOLVE is Cancelled
    yield Step(0.5, (f"{flapping}|RESOLVE|comment;Link stable again.|",))
    yield Step(RESOLVE_HOLD / 2, (f"{flapping}|CREATE|summary;mux-bru-2: Link flapping|",))
    # a person resolves a ticket in Jira while its alarm is still active; the webhook tells the
    # driver, and the alarm's next update reopens the ticket ([sync] when_resolved_in_jira)
    yield Step(1.0, resolve_in_jira=guids[4])
    yield Step(3.0, (f"{guids[4]}|UPDATE|comment;Still alarming: {PROBLEMS[4][0].lower()}.|",))
    # and the last one clears too
    yield Step(1.0, (f"{guids[5]}|RESOLVE|comment;The alarm cleared.|",))


async def feed(client: DriverClient, sim_url: str, stop: threading.Event) -> None:
    rng = random.Random(2026)
    for step in sample_alarms(rng):
        if stop.wait(step.delay):
            return
        with contextlib.suppress(DriverClientError, httpx.HTTPError):
            if step.commands:
                await client.send_commands(list(step.commands))
            if step.resolve_in_jira:
                await _resolve_in_jira(client, sim_url, step.resolve_in_jira)


async def _resolve_in_jira(client: DriverClient, sim_url: str, guid: str) -> None:
    """The person resolves the GUID's ticket in the simulator (as if in Jira's web page)."""
    key = (await client.ticket_view(guid)).ticket
    if key is None or key.key is None:
        return
    async with httpx.AsyncClient(base_url=sim_url, timeout=5.0) as sim:
        await sim.post(
            "/_sim/act",
            json={
                "user": PERSON,
                "key": key.key,
                "action": "resolve",
                "resolution": "Won't Fix",
                "comment": "Looks fine from here; closing.",
            },
        )
