package io.pgferry.agent.health;

import io.javalin.http.Context;
import io.pgferry.agent.http.BearerAuth;
import io.pgferry.agent.postgres.PostgresUnavailableException;

public final class HealthController {
    private final HealthService service;

    public HealthController(HealthService service) {
        this.service = service;
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
}
