package io.pgferry.agent.config;

/** Who may read GET /metrics. */
public enum MetricsAuth {
    /** The agent's bearer token, like every other route. */
    TOKEN,
    /** Anyone who can connect: allowed only on a loopback listener, for a Prometheus on the same host. */
    NONE
}
