package io.pgferry.agent.metrics;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.config.MetricsAuth;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.RouteGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

public final class MetricsController implements RouteGroup {
    private final AgentMetrics metrics;
    private final MetricsAuth auth;

    /** @param auth whether /metrics needs the token (metrics_auth) */
    public MetricsController(AgentMetrics metrics, MetricsAuth auth) {
        this.metrics = metrics;
        this.auth = auth;
    }

    @Override
    public void register(RoutesConfig routes) {
        // Prometheus' conventional path; outside /v1 because its format is Prometheus', not the API's.
        routes.get("/metrics", this::get, auth == MetricsAuth.NONE ? Access.PUBLIC : Access.READ);
    }

    /**
     * {@code GET /metrics}: every metric in Prometheus text format 0.0.4 (docs/agent.md lists them). Reads the
     * catalogs, so it takes a few milliseconds; PostgreSQL being down is not an error here but
     * {@code pgferry_postgres_up 0}. Needs the token unless {@code metrics_auth: none} (loopback listeners only).
     * <ul>
     *   <li>200: the metrics</li>
     *   <li>401 {@code unauthorized}: no valid token, when one is required</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void get(Context ctx) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        metrics.write(out);
        ctx.contentType(AgentMetrics.WRITER.getContentType()).result(out.toByteArray());
    }
}
