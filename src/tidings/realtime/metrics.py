"""Prometheus metrics, one registry per app (so several apps can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The counters an operator watches: streams, events, replays, overflows, latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.streams_open = Gauge(
            "tidings_streams_open", "Open SSE streams in this process", registry=self.registry
        )
        self.events_published = Counter(
            "tidings_events_published", "Events published after commit", registry=self.registry
        )
        self.events_delivered = Counter(
            "tidings_events_delivered", "Event frames written to streams", registry=self.registry
        )
        self.replays = Counter(
            "tidings_replays", "Streams resumed from Last-Event-ID", registry=self.registry
        )
        self.replayed_events = Counter(
            "tidings_replayed_events", "Events sent from the log on resume", registry=self.registry
        )
        self.resyncs = Counter(
            "tidings_resyncs", "Streams told to refetch their state", registry=self.registry
        )
        self.overflows = Counter(
            "tidings_stream_overflows",
            "Streams closed because the client read too slowly",
            registry=self.registry,
        )
        self.stalls = Counter(
            "tidings_stream_stalls",
            "Streams cut off because the client accepted no bytes within the write timeout",
            registry=self.registry,
        )
        self.streams_replaced = Counter(
            "tidings_streams_replaced",
            "Streams closed because their user opened more than the per-user limit",
            registry=self.registry,
        )
        self.streams_ended_by_session = Counter(
            "tidings_streams_session_ended",
            "Streams closed because their session ended or expired",
            registry=self.registry,
        )
        self.streams_shed = Counter(
            "tidings_streams_shed",
            "Stream opens answered 'retry later' because the server was at a limit",
            registry=self.registry,
        )
        self.gap_fills = Counter(
            "tidings_gap_fills",
            "Times a process read events from the log that the broker had not brought",
            registry=self.registry,
        )
        self.presence_events = Counter(
            "tidings_presence_events",
            "Presence events sent (one per addressee of a change of status)",
            registry=self.registry,
        )
        self.broker_errors = Counter(
            "tidings_broker_errors", "Failed broker operations", registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "tidings_webhook_deliveries",
            "Events a receiver accepted (2xx) from this process's webhook deliveries",
            registry=self.registry,
        )
        self.webhook_failures = Counter(
            "tidings_webhook_failures",
            "Failed webhook delivery attempts (another status, a timeout, no connection)",
            registry=self.registry,
        )
        self.db_queries = Gauge(
            "tidings_db_queries", "SQL statements executed since start", registry=self.registry
        )
        self.write_batches = Gauge(
            "tidings_write_batches",
            "Write transactions since start (writes / batches: the mean group commit)",
            registry=self.registry,
        )
        self.writes = Gauge(
            "tidings_writes",
            "Writes (actions) run by the writer since start",
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "tidings_request_latency_seconds",
            "Latency of non-streaming HTTP requests",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
