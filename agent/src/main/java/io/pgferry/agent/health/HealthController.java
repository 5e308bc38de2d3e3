package io.pgferry.agent.health;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.BearerAuth;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import java.util.Map;

public final class HealthController implements RouteGroup {
    private final HealthService service;

    public HealthController(HealthService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/health", this::get, Access.PUBLIC);
        routes.get("/v1/health/live", this::live, Access.PUBLIC);
        routes.get("/v1/health/ready", this::get, Access.PUBLIC);
    }

    /**
     * {@code GET /v1/health}: whether the local PostgreSQL answers {@code SELECT 1}, probed at most once every 2 s.
     * Needs no token, so load balancers and monitoring can call it; only a caller with the token learns the server's
     * version, or where and as whom the agent failed to log in.
     * <ul>
     *   <li>200: PostgreSQL answered; body {@code {"status":"ok","postgres":"up"}}, plus {@code server_version}
     *       with the token</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL refused, failed or timed out (about 5 s at most)</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        HealthService.Probe p = service.current();
        boolean full = BearerAuth.authenticated(ctx);
        if (!p.up()) {
            throw new PostgresUnavailableException(full ? p.failure()
                    : "PostgreSQL does not answer the agent; call with the token for details", null);
        }
        ctx.json(new HealthStatus("ok", "up", full ? p.version().version() : null));
    }

    /**
     * {@code GET /v1/health/live}: the agent's process answers HTTP; PostgreSQL is not asked, so a supervisor does
     * not restart the agent for the database's sake. {@code GET /v1/health/ready} is {@link #get} under its
     * conventional name: ready means PostgreSQL answers. No token for either.
     * <ul>
     *   <li>200: body {@code {"status":"ok"}}</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void live(Context ctx) {
        ctx.json(Map.of("status", "ok"));
    }
}
