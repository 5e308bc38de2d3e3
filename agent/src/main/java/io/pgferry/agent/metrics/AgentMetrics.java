package io.pgferry.agent.metrics;

import io.javalin.http.Context;
import io.pgferry.agent.jobs.JobState;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.postgres.PgConnector;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The agent's own counters, fed as things happen: HTTP requests, steps, jobs. What PostgreSQL knows (slots,
 * subscriptions, tables) is read at scrape time by {@link CatalogMetrics} instead, so it is never stale.
 */
public final class AgentMetrics {
    /** Seconds: a health check is milliseconds, a step seconds, a restore or copy may take hours. */
    private static final double[] BUCKETS = {0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600, 14400};
    private static final Pattern STEP_ROUTE = Pattern.compile("^/v1/migrations/\\{m}/([^/]+)");

    static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("pgferry_http_requests_total")
            .help("HTTP requests answered, by route template, method and status")
            .labelNames("method", "route", "status").register(registry);
    private final Histogram requestSeconds = Histogram.builder().name("pgferry_http_request_duration_seconds")
            .help("Time to answer an HTTP request, by route template and method").classicOnly()
            .classicUpperBounds(BUCKETS).labelNames("method", "route").register(registry);
    private final Histogram stepSeconds = Histogram.builder().name("pgferry_step_duration_seconds")
            .help("Time of a migration step's request (job steps: the request that starts or attaches to the job)")
            .classicOnly().classicUpperBounds(BUCKETS).labelNames("step", "method", "outcome").register(registry);
    private final Counter jobsFinished = Counter.builder().name("pgferry_jobs_finished_total")
            .help("Long-running jobs that ended, by step and end state").labelNames("step", "state")
            .register(registry);
    private final Histogram jobSeconds = Histogram.builder().name("pgferry_job_duration_seconds")
            .help("Run time of long-running jobs, by step and end state").classicOnly().classicUpperBounds(BUCKETS)
            .labelNames("step", "state").register(registry);

    /**
     * Adds what is read at scrape time: the catalogs of the local PostgreSQL, this agent's fences and its jobs.
     */
    public void watch(PgConnector connector, Path stateDir, Supplier<List<JobView>> jobs) {
        registry.register(new CatalogMetrics(connector, stateDir));
        GaugeWithCallback.builder().name("pgferry_jobs")
                .help("Jobs this agent keeps for polling (the running one and the last ended ones), by state")
                .labelNames("state").callback(cb -> {
                    Map<JobState, Long> n = jobs.get().stream()
                            .collect(Collectors.groupingBy(JobView::state, Collectors.counting()));
                    for (JobState s : JobState.values()) {
                        cb.call(n.getOrDefault(s, 0L), s.json());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("pgferry_job_running_seconds")
                .help("Run time so far of the job that runs now, by step and migration")
                .labelNames("step", "migration").callback(cb -> jobs.get().stream()
                        .filter(j -> j.state() == JobState.RUNNING)
                        .forEach(j -> cb.call(Duration.between(Instant.parse(j.startedAt()), Instant.now())
                                .toMillis() / 1000.0, j.step(), j.migration()))).register(registry);
    }

    /** The text exposition of every metric, as GET /metrics sends it. */
    void write(OutputStream out) throws IOException {
        WRITER.write(out, registry.scrape());
    }

    /** Called once per answered request, with Javalin's measured time. */
    public void request(Context ctx, float millis) {
        String method = ctx.method().name();
        String route = route(ctx);
        int status = ctx.statusCode();
        double seconds = millis / 1000.0;
        requests.labelValues(method, route, Integer.toString(status)).inc();
        requestSeconds.labelValues(method, route).observe(seconds);
        Matcher m = STEP_ROUTE.matcher(route);
        if (m.find()) {
            stepSeconds.labelValues(m.group(1), method, outcome(status)).observe(seconds);
        }
    }

    /** Called by the job runner when a job ends. */
    public void jobFinished(JobView job) {
        String state = job.state().json();
        jobsFinished.labelValues(job.step(), state).inc();
        if (job.finishedAt() != null) {
            double seconds = Duration.between(Instant.parse(job.startedAt()), Instant.parse(job.finishedAt()))
                    .toNanos() / 1e9;
            jobSeconds.labelValues(job.step(), state).observe(seconds);
        }
    }

    /** The route template, never the raw path: a path holds ids and names, and would grow the series without end. */
    private static String route(Context ctx) {
        try {
            var endpoint = ctx.endpoints().matchedHttpEndpoint();
            return endpoint == null ? "unmatched" : endpoint.path;
        } catch (RuntimeException e) {
            // Refused before routing (401 on an unknown path) or answered 404: no endpoint.
            return "unmatched";
        }
    }

    private static String outcome(int status) {
        if (status < 400) {
            return "ok";
        }
        return status < 500 ? "client_error" : "server_error";
    }
}
