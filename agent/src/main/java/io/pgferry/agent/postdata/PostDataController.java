package io.pgferry.agent.postdata;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;

public final class PostDataController implements RouteGroup {
    private final PostDataService service;
    private final JobRunner jobs;

    public PostDataController(PostDataService service, JobRunner jobs) {
        this.service = service;
        this.jobs = jobs;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/post-data", this::postData, Access.JOB);
    }

    /**
     * {@code POST /v1/migrations/{m}/post-data[?wait=N]} {@code {database, jobs, check, privileges, role_map}}: a job
     * restoring every post-data entry missing on the target with {@code pg_restore --jobs} (policies naming a mapped
     * role created by the agent with the target's role), then refreshing materialized views that are populated on
     * the source and empty here, then analyzing the tables that have no statistics here. With {@code check}, the plan
     * is returned at once.
     * <ul>
     *   <li>200: with check: {@link PostDataResult}; else {@code {"job": ...}} finished within {@code wait}
     *       seconds (a failed job too: see its {@code state} and {@code error})</li>
     *   <li>202: {@code {"job": ...}} running; poll {@code GET /v1/jobs/{id}} (also in {@code Location})</li>
     *   <li>400 {@code invalid_request}: bad migration id, body, {@code jobs} (1-64) or {@code wait}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: archive or manifest not uploaded</li>
     *   <li>404 {@code database_not_found}: no such database</li>
     *   <li>409 {@code operation_in_progress}: another long step runs (its job id is in {@code objects})</li>
     *   <li>422 {@code schema_not_applied}: tables of the archive are missing (listed in {@code objects})</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a catalog query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     * The job fails with {@code pg_restore_failed} (the tool's error lines in {@code detail}),
     * {@code pg_tools_unavailable}, or the same catalog errors.
     */
    void postData(Context ctx) throws InterruptedException {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        PostDataRequest request = JsonBody.read(ctx, PostDataRequest.class);
        JobsController.waitSeconds(ctx); // a bad wait is refused before anything starts
        if (request.check()) {
            ctx.json(service.check(m, request));
            return;
        }
        JobsController.respond(ctx, jobs, service.start(m, request));
    }
}
