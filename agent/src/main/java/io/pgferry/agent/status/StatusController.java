package io.pgferry.agent.status;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides: what of the migration exists on this server. */
public final class StatusController implements RouteGroup {
    private final StatusService service;

    public StatusController(StatusService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/migrations/{m}/status", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/migrations/{m}/status?database=..}: the role, publication, slot (with lag in bytes) and WAL
     * position of the source side; the database, its tables and the subscription of the target side; and the
     * phase derived from them. A database that does not exist is reported, not an error.
     * <ul>
     *   <li>200: {@link MigrationStatus}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.status(migration, Params.databaseParam(ctx)));
    }
}
