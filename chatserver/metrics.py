"""``/metrics``: this node's figures in Prometheus's text format (docs/deployment.md).

Nothing here runs per message: the hub and its writer keep plain counts
(``chatserver.core.stats``) and this collector reads them, and counts connections,
chats, queues and agents, when the endpoint is scraped. The process's own figures
(CPU seconds, resident memory, open files) come from prometheus_client's collectors.
Every node answers for itself; an edge node of a cluster has no hub, so it reports its
role, its tunnelled clients and its process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .core.stats import Buckets
from .hub import Hub
from .kb.service import KnowledgeBase
from .privacy.retention import Retention

__all__ = ["registry"]


def registry(state: Any) -> CollectorRegistry:
    """A registry of the app whose ``app.state`` is ``state`` (its hub and node may come
    and go: an edge node becomes the hub when the hub node fails)."""
    reg = CollectorRegistry()
    ProcessCollector(registry=reg)
    PlatformCollector(registry=reg)
    GCCollector(registry=reg)
    reg.register(_ServerCollector(state))
    return reg


class _ServerCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        node = getattr(self.state, "node", None)
        role = "single" if node is None else node.role
        info = GaugeMetricFamily(
            "chatserver_node_role",
            "This node's role: single, hub or edge (promoting while it takes the hub over).",
            labels=["role"],
        )
        info.add_metric([role], 1)
        yield info
        if node is not None and node.role == "edge":
            yield GaugeMetricFamily(
                "chatserver_edge_tunnels",
                "Clients of this edge node tunnelled to the hub node.",
                value=len(node.edge.open),
            )
        hub: Hub | None = getattr(self.state, "hub", None)
        if hub is not None and (node is None or node.role == "hub"):
            yield from _hub_metrics(hub)
            kb: KnowledgeBase | None = getattr(self.state, "kb", None)
            if kb is not None:
                yield from _kb_metrics(kb)
            retention: Retention | None = getattr(self.state, "retention", None)
            if retention is not None:
                removed = CounterMetricFamily(
                    "chatserver_retention_removed",
                    "Items the retention purge removed since start, by kind.",
                    labels=["kind"],
                )
                for kind, n in sorted(retention.removed.items()):
                    removed.add_metric([kind], n)
                yield removed


def _kb_metrics(kb: KnowledgeBase) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "chatserver_kb_articles", "Published knowledge-base articles.", len(kb.published)
    )
    yield CounterMetricFamily(
        "chatserver_kb_searches", "Knowledge-base searches by players and visitors.", kb.searches
    )
    yield CounterMetricFamily(
        "chatserver_kb_misses",
        "Searches whose best article scored too low to count as an answer.",
        kb.misses,
    )
    outcomes = CounterMetricFamily(
        "chatserver_kb_outcomes",
        "Players shown suggested articles: self_served (an article answered them) or"
        " needed_agent, by topic.",
        labels=["topic", "outcome"],
    )
    for (topic, outcome), n in sorted(kb.outcomes.items()):
        outcomes.add_metric([topic, outcome], n)
    yield outcomes
    votes = CounterMetricFamily(
        "chatserver_kb_votes", "Helpful and unhelpful votes on articles.", labels=["helpful"]
    )
    for helpful in (True, False):
        votes.add_metric([str(helpful).lower()], kb.votes[helpful])
    yield votes


def _hub_metrics(hub: Hub) -> Iterator[Metric]:
    yield _gauge(
        "chatserver_connections",
        "Open WebSocket connections, by kind.",
        "kind",
        Counter(c.kind for c in hub.conns),
        ("player", "agent"),
    )
    yield _gauge(
        "chatserver_chats",
        "Live chats, by state.",
        "state",
        Counter(live.conv.state.value for live in hub.chats.values()),
        ("queued", "active"),
    )
    yield _gauge(
        "chatserver_queue_length",
        "Chats waiting for an agent, by department.",
        "department",
        {dep: hub.router.queue_length(dep) for dep in hub.routing.departments},
        tuple(hub.routing.departments),
    )
    yield GaugeMetricFamily(
        "chatserver_prechat_waiting",
        "Pre-chat forms waiting for their turn to start a chat (a crowd arriving at once).",
        hub.turns.waiting,
    )
    yield _gauge(
        "chatserver_agents",
        "Agents with a console open, by status.",
        "status",
        Counter(p.status.value for p in hub.agents.values() if p.conns),
        ("online", "away"),
    )

    stored = CounterMetricFamily(
        "chatserver_messages_stored",
        "Chat messages stored (and so acknowledged and relayed), by sender.",
        labels=["sender"],
    )
    for sender, n in hub.messages_stored.items():
        stored.add_metric([sender.value], n)
    yield stored

    yield _histogram(
        "chatserver_message_commit_seconds",
        "From a message's arrival at the hub until it is stored and acknowledged.",
        hub.message_seconds,
    )
    yield _histogram(
        "chatserver_queue_wait_seconds",
        "New chats: from joining the queue until an agent has them (stored).",
        hub.queue_wait_seconds,
    )
    writer = hub.writer
    yield CounterMetricFamily(
        "chatserver_store_commits", "Group commits (store transactions).", value=writer.batches
    )
    yield CounterMetricFamily(
        "chatserver_store_writes", "Writes committed by group commits.", value=writer.ops_written
    )
    yield _histogram(
        "chatserver_store_commit_seconds",
        "One group commit, until durable (with its retries).",
        writer.commit_seconds,
    )
    yield GaugeMetricFamily(
        "chatserver_store_pending", "Writes queued for the next group commit.", writer.pending
    )
    if hub.dispatcher is not None:
        attempts = CounterMetricFamily(
            "chatserver_webhook_attempts",
            "Webhook deliveries to the ticket system, by outcome: delivered, failed and to be"
            " retried, or given up after webhook_max_attempts.",
            labels=["outcome"],
        )
        d = hub.dispatcher
        for outcome, n in (("delivered", d.delivered), ("retry", d.retried), ("gave_up", d.failed)):
            attempts.add_metric([outcome], n)
        yield attempts
    if hub.desk is not None:
        breaches = CounterMetricFamily(
            "chatserver_sla_breaches",
            "Service-level targets missed (routing file, [[sla]]), by target: first_response,"
            " next_response, resolution.",
            labels=["target"],
        )
        for target, n in hub.desk.breaches.items():
            breaches.add_metric([target], n)
        yield breaches
    if hub.notifications is not None:
        sent = CounterMetricFamily(
            "chatserver_notifications",
            "E-mails and SMS to players about their requests, by outcome.",
            labels=["outcome"],
        )
        told = hub.notifications
        for outcome, count in (("sent", told.sent), ("gave_up", told.failed)):
            sent.add_metric([outcome], count)
        yield sent
    yield GaugeMetricFamily(
        "chatserver_store_failed",
        "1 once the store has failed for good (the server must restart).",
        1 if hub.failed is not None else 0,
    )


def _gauge(
    name: str, doc: str, label: str, counts: Mapping[str, int], keys: Iterable[str]
) -> GaugeMetricFamily:
    """One gauge per key (a key nobody counted is 0)."""
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key in keys:
        family.add_metric([key], counts.get(key, 0))
    return family


def _histogram(name: str, doc: str, buckets: Buckets) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=buckets.cumulative(), sum_value=buckets.total)
