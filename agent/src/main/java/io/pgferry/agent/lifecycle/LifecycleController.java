package io.pgferry.agent.lifecycle;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides: the facts every playbook reads first, to know the migration's phase (docs/design.md, Lifecycle). */
public final class LifecycleController implements RouteGroup {
    private final LifecycleService service;

    public LifecycleController(LifecycleService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/migrations/{m}/lifecycle", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/migrations/{m}/lifecycle?database=..}: role, fence, both streams' publication, slot (with lag,
     * retained WAL and wal_status) and subscription (with its tables' states), the database's user tables, the WAL
     * limit for slots, and the migration's state files. Reads only; takes no migration lock, so it answers while a
     * step runs. A database that does not exist is reported, not an error.
     * <ul>
     *   <li>200: {@link SideFacts}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.facts(migration, Params.databaseParam(ctx)));
    }
}
