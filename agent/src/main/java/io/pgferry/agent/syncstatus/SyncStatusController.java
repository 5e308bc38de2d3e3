package io.pgferry.agent.syncstatus;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;

/** Target side: progress of the subscription's initial copy and its apply lag. */
public final class SyncStatusController implements RouteGroup {
    private final SyncStatusService service;

    public SyncStatusController(SyncStatusService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/migrations/{m}/sync-status", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/migrations/{m}/sync-status?database=..}: per-table copy state and progress, the apply
     * worker's position and lag, and {@code ready}, {@code total}, {@code percent}, {@code all_ready}. Optional
     * {@code ?wait=N} (0-300 s) holds the answer while not every table is ready, for at most N seconds, and answers
     * as soon as every table is ready or the copy, the subscription or its workers' error count changes.
     * <ul>
     *   <li>200: {@link SyncStatus}</li>
     *   <li>400 {@code invalid_request}: bad migration id, missing database parameter, or {@code wait} not an
     *       integer from 0 to 300</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>404 {@code subscription_not_found}: the database has no subscription of this migration</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) throws InterruptedException {
        MigrationId migration = Params.migration(ctx);
        String database = Params.databaseParam(ctx);
        ctx.json(service.status(migration, database, JobsController.waitSeconds(ctx)));
    }
}
