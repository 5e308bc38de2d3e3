package io.pgferry.agent.health;

import io.javalin.http.Context;
import java.util.Map;

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
