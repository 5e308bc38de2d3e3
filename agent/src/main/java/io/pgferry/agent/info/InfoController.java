package io.pgferry.agent.info;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.RouteGroup;

public final class InfoController implements RouteGroup {
    private final InfoService service;

    public InfoController(InfoService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/info", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/info}: the local PostgreSQL's version, replication settings, databases and the pg_dump
     * the agent would use. Needs the bearer token.
     * <ul>
     *   <li>200: the facts, as {@link AgentInfo}; an unusable pg_bin_dir is reported in
     *       {@code pg_bin_dir_error}, not as a failure</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>502 {@code postgres_error}: PostgreSQL answered but refused a query (e.g. permissions)</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached or timed out</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        ctx.json(service.info());
    }
}
