"""Procedural-memory evaluation: "task -> right procedure in the top 3", on a set the repo generates.

Each of the task kinds below is done three times with different literal values (seeded), recorded as
trajectories, and learned into procedures through the real pipeline (job, queue, worker, distiller,
index). Then, per kind, paraphrased requests with fresh values are searched in the scope: a hit is the
procedure learned from that kind's runs among the top 3 (and, separately, first).

    .venv/bin/python -m contextiq.evaluation.procedures [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contextiq.container import Container
from contextiq.models.procedures import ProcedureSearchRequest
from contextiq.models.trajectories import Outcome, ProcedureGenerateRequest, TrajectoryCreate, TrajectoryStepIn

TENANT = "eval"
SCOPE = {"user_id": "eval-agent"}
RUNS_PER_KIND = 3


@dataclass(frozen=True)
class TaskKind:
    task: str  # with {slot} placeholders
    steps: tuple[tuple[str, str, dict[str, str], str], ...]  # (thought, tool, arguments, observation)
    queries: tuple[str, ...]  # paraphrases a user would type, with {slot} placeholders
    values: dict[str, tuple[str, ...]]


KINDS: tuple[TaskKind, ...] = (
    TaskKind(
        "Book a flight from {a} to {b} on {d}",
        (
            (
                "Search flights {a} to {b}",
                "search_flights",
                {"origin": "{a}", "destination": "{b}", "date": "{d}"},
                "Found 4 flights from {a} to {b}.",
            ),
            ("Book the cheapest", "book_flight", {"fare": "cheapest"}, "Booked."),
        ),
        ("I need a plane ticket to {b}", "get me on a plane from {a} next week"),
        {
            "a": ("Paris", "Berlin", "Lyon", "Madrid", "Oslo"),
            "b": ("Rome", "Vienna", "Porto", "Dublin", "Athens"),
            "d": ("2025-05-01", "2025-06-12", "2025-07-23", "2025-08-30"),
        },
    ),
    TaskKind(
        "Reset the password of user {u}",
        (
            ("Look up the account {u}", "find_user", {"username": "{u}"}, "User {u} exists."),
            ("Send a reset link", "send_password_reset", {"username": "{u}"}, "Reset email sent."),
        ),
        ("{u} forgot their login credentials", "help, {u} is locked out and cannot sign in"),
        {"u": ("alice", "bob", "chen", "dana", "elif", "farid")},
    ),
    TaskKind(
        "Refund order {o} for customer {c}",
        (
            ("Fetch order {o}", "get_order", {"order_id": "{o}"}, "Order {o} was paid."),
            ("Issue the refund", "issue_refund", {"order_id": "{o}", "reason": "customer request"}, "Refund issued."),
        ),
        ("customer {c} wants their money back for order {o}", "give {c} a reimbursement"),
        {"o": ("A-1001", "A-2044", "B-3310", "C-0907"), "c": ("Grace", "Hiro", "Ines", "Jonas")},
    ),
    TaskKind(
        "Schedule a meeting with {p} on {d}",
        (
            ("Check {p}'s calendar", "get_availability", {"person": "{p}", "date": "{d}"}, "{p} is free at 10:00."),
            ("Send the invite", "create_event", {"attendee": "{p}", "date": "{d}", "time": "10:00"}, "Invite sent."),
        ),
        ("set up a call with {p}", "find a time to sit down with {p} on {d}"),
        {"p": ("Kemi", "Luca", "Mara", "Noor", "Omar"), "d": ("Monday", "Tuesday", "Thursday", "Friday")},
    ),
    TaskKind(
        "Deploy service {s} to {e}",
        (
            ("Run the tests of {s}", "run_tests", {"service": "{s}"}, "All tests passed."),
            ("Build the image", "build_image", {"service": "{s}"}, "Image built."),
            ("Roll out to {e}", "deploy", {"service": "{s}", "environment": "{e}"}, "Rollout complete."),
        ),
        ("ship the latest {s} build to {e}", "release {s} to the {e} environment"),
        {"s": ("billing", "search", "checkout", "auth"), "e": ("staging", "production", "qa")},
    ),
    TaskKind(
        "Get the weather forecast for {c}",
        (("Look up {c}", "get_forecast", {"city": "{c}"}, "Sunny in {c}, 22 degrees."),),
        ("will it rain in {c} tomorrow?", "what should I wear in {c} today"),
        {"c": ("Lisbon", "Tokyo", "Austin", "Nairobi", "Seoul", "Lima")},
    ),
    TaskKind(
        "Translate the document {f} into {l}",
        (
            ("Load {f}", "read_file", {"path": "{f}"}, "Loaded {f}."),
            ("Translate it", "translate", {"target_language": "{l}"}, "Translated into {l}."),
            ("Save the result", "write_file", {"path": "{f}.{l}"}, "Saved."),
        ),
        ("I need {f} in {l}", "convert the text of {f} to {l} language"),
        {"f": ("report.docx", "contract.pdf", "notes.txt", "slides.pptx"), "l": ("French", "German", "Japanese")},
    ),
    TaskKind(
        "Create an invoice for {c} of {a} EUR",
        (
            ("Find the client {c}", "find_customer", {"name": "{c}"}, "Customer {c} found."),
            ("Draft the invoice", "create_invoice", {"customer": "{c}", "amount": "{a}"}, "Invoice drafted."),
            ("Email it", "send_invoice", {"customer": "{c}"}, "Invoice sent."),
        ),
        ("bill {c} {a} euros for the work", "charge {c} for last month's consulting"),
        {"c": ("Acme", "Globex", "Initech", "Umbrella"), "a": ("1200", "450", "980", "3100")},
    ),
    TaskKind(
        "Cancel the subscription of {u}",
        (
            ("Find the subscription of {u}", "get_subscription", {"user": "{u}"}, "{u} is on the Pro plan."),
            ("Cancel it", "cancel_subscription", {"user": "{u}", "refund": "prorated"}, "Cancelled."),
        ),
        ("{u} wants to stop paying for the plan", "end {u}'s membership"),
        {"u": ("pat", "quinn", "rosa", "sam", "tariq")},
    ),
    TaskKind(
        "Reserve a table for {n} people at {r}",
        (
            ("Check {r}", "restaurant_availability", {"restaurant": "{r}", "party_size": "{n}"}, "{r} has a table."),
            ("Book it", "reserve_table", {"restaurant": "{r}", "party_size": "{n}"}, "Table reserved."),
        ),
        ("dinner for {n} at {r} tonight please", "can you get us a spot to eat at {r}"),
        {"n": ("2", "4", "6", "8"), "r": ("Nopa", "Chez Panisse", "Zuni", "Flour and Water")},
    ),
    TaskKind(
        "File an expense report for the {t} trip",
        (
            ("Collect the receipts of the {t} trip", "list_receipts", {"trip": "{t}"}, "7 receipts for {t}."),
            ("Submit the report", "submit_expenses", {"trip": "{t}", "approver": "manager"}, "Report submitted."),
        ),
        ("claim my costs from the {t} visit", "get reimbursed for travel spending in {t}"),
        {"t": ("Boston", "Singapore", "Munich", "Toronto", "Sydney")},
    ),
    TaskKind(
        "Open a support ticket about {i}",
        (
            ("Describe {i}", "create_ticket", {"subject": "{i}", "priority": "normal"}, "Ticket opened."),
            ("Tell the user the ticket number", "notify_user", {"channel": "email"}, "User notified."),
        ),
        ("report a problem: {i}", "something is broken with {i}, please escalate"),
        {"i": ("the login page", "slow dashboards", "missing invoices", "the mobile app crashing")},
    ),
)


def _fill(text: str, values: dict[str, str]) -> str:
    for slot, value in values.items():
        text = text.replace("{" + slot + "}", value)
    return text


def trajectories_for(kind: TaskKind, rng: random.Random) -> list[TrajectoryCreate]:
    runs = []
    for _ in range(RUNS_PER_KIND):
        values = {slot: rng.choice(pool) for slot, pool in kind.values.items()}
        steps = [
            TrajectoryStepIn(
                thought=_fill(thought, values),
                tool=tool,
                arguments={k: _fill(v, values) for k, v in args.items()},
                observation=_fill(obs, values),
            )
            for thought, tool, args, obs in kind.steps
        ]
        runs.append(
            TrajectoryCreate(scope=SCOPE, task=_fill(kind.task, values), steps=steps, outcome=Outcome(status="success"))
        )
    return runs


@dataclass
class ProcedureEvalReport:
    kinds: int = 0
    learned: int = 0
    queries: int = 0
    top1: int = 0
    top3: int = 0
    distill_seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        return (
            f"| task kinds | procedures learned | queries | right procedure first | in the top 3 |\n"
            f"| --- | --- | --- | --- | --- |\n"
            f"| {self.kinds} | {self.learned} | {self.queries} | {self.top1 / self.queries:.0%} | "
            f"{self.top3 / self.queries:.0%} |"
        )


def run_procedure_eval(container: Container, drain: Callable[[], None], seed: int = 7) -> ProcedureEvalReport:
    rng = random.Random(seed)
    report = ProcedureEvalReport(kinds=len(KINDS))
    learned: dict[int, str] = {}
    for n, kind in enumerate(KINDS):
        ids = [container.trajectories.create(TENANT, t).id for t in trajectories_for(kind, rng)]
        start = time.perf_counter()
        job = container.procedure_jobs.submit(TENANT, ProcedureGenerateRequest(scope=SCOPE, trajectory_ids=ids))
        drain()
        report.distill_seconds.append((time.perf_counter() - start) / len(ids))
        stored = container.jobs.get(TENANT, job.id)
        if stored and stored.job.result and stored.job.result.procedure_ids:
            learned[n] = stored.job.result.procedure_ids[0]
    report.learned = len(set(learned.values()))
    for n, kind in enumerate(KINDS):
        for query in kind.queries:
            values = {slot: rng.choice(pool) for slot, pool in kind.values.items()}
            text = _fill(query, values)
            hits = container.procedures.search(TENANT, ProcedureSearchRequest(scope=SCOPE, query=text, top_k=3))
            ranked = [r.procedure.id for r in hits.results]
            report.queries += 1
            want = learned.get(n)
            report.top1 += bool(ranked) and ranked[0] == want
            report.top3 += want in ranked
            if want not in ranked:
                report.misses.append(f"{text!r} -> {[r.procedure.name for r in hits.results]}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from contextiq.local.inprocess import in_process_stack

    with tempfile.TemporaryDirectory() as tmp, in_process_stack(Path(tmp)) as (container, drain):
        report = run_procedure_eval(container, drain, args.seed)
    print(report.to_markdown())
    for miss in report.misses:
        print("miss:", miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
