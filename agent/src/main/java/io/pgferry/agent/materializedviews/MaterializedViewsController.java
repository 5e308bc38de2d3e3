package io.pgferry.agent.materializedviews;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;
import java.util.Map;

/** Either side: the migration's materialized views (GET), refreshed where clients go (POST, a job). */
public final class MaterializedViewsController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/materialized-views";

    private final MaterializedViewsService service;
    private final JobRunner jobs;

    public MaterializedViewsController(MaterializedViewsService service, JobRunner jobs) {
        this.service = service;
        this.jobs = jobs;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get(PATH, this::get, Access.READ);
        routes.post(PATH, this::post, Access.CHANGE);
    }

    /**
     * {@code GET /v1/migrations/{m}/materialized-views?database=..}: every materialized view of the migration's schemas
     * here, with its owner, whether the owner is a superuser, and whether it holds data. Read-only.
     * <ul>
     *   <li>200: {@code {views: [{schema, name, owner, owner_superuser, populated}]}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}</li>
     *   <li>404 {@code archive_not_found}: no manifest of the migration here (its scope)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(Map.of("views", service.read(migration, Params.databaseParam(ctx))));
    }

    /**
     * {@code POST /v1/migrations/{m}/materialized-views[?wait=N]} {@code {database, source, check}}: a job that
     * refreshes, views read by others first, every view of the migration's schemas that {@code source} (the other
     * side's GET answer) holds populated - CONCURRENTLY where a unique index allows, otherwise locking the view for
     * the time of the refresh. A view owned here by a superuser is skipped unless the other side's owner is that same
     * superuser (PostgreSQL runs the view's query as its owner). With {@code check}, the plan is answered at once.
     * <ul>
     *   <li>200: with check: {@code {changed, check, queries, refreshed, skipped}}; else the job finished within
     *       {@code wait} seconds</li>
     *   <li>202: {@code {"job": ...}} running; poll {@code GET /v1/jobs/{id}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id or {@code wait}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}, 404 {@code database_not_found}</li>
     *   <li>409 {@code operation_in_progress}: another long step runs here</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query (the job fails with it when a refresh fails)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) throws InterruptedException {
        MigrationId migration = Params.migration(ctx);
        RefreshRequest request = JsonBody.read(ctx, RefreshRequest.class);
        JobsController.waitSeconds(ctx);
        if (request.check()) {
            ctx.json(service.check(migration, request));
            return;
        }
        JobsController.respond(ctx, jobs, service.start(migration, request));
    }
}
