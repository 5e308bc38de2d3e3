package io.pgferry.agent.health;

import io.javalin.http.Context;

public final class HealthController {
    private final HealthService service;

    public HealthController(HealthService service) {
        this.service = service;
    }

    /**
     * {@code GET /v1/health}: whether the local PostgreSQL answers {@code SELECT 1}. Needs no token, so load
     * balancers and monitoring can call it.
     * <ul>
     *   <li>200: PostgreSQL answered; body {@code {"status":"ok","postgres":"up","server_version":...}}</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL refused, failed or timed out (about 5 s at most)</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        ctx.json(service.check());
    }
}
