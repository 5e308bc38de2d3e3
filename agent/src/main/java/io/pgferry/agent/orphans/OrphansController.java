package io.pgferry.agent.orphans;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.RouteGroup;

/** Either side: what pgferry left on this server, across migrations and databases. */
public final class OrphansController implements RouteGroup {
    private final OrphansService service;

    public OrphansController(OrphansService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/orphans", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/orphans}: slots named {@code pgferry_*} (with {@code orphan}: inactive, no subscriber, and the
     * WAL each retains), publications, subscriptions, fenced databases and copy policies {@code pgferry_*} in every
     * database that allows connections, and roles named {@code pgferry_*}. Read-only.
     * <ul>
     *   <li>200: {@code {slots: [{name, database, active, orphan, retained_bytes}], publications: [{database,
     *       name}], subscriptions: [...], roles: [...], fenced: [...], policies: [{database, table, name}],
     *       unreadable: [...], orphans: n}}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        ctx.json(service.report());
    }
}
