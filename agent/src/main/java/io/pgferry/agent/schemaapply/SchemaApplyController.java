package io.pgferry.agent.schemaapply;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;

/**
 * The target side of the schema transfer: restore the schema from the archive and manifest uploaded to it
 * ({@code PUT .../schema-archive}, served by schemaarchive).
 */
public final class SchemaApplyController implements RouteGroup {
    private final SchemaApplyService service;
    private final JobRunner jobs;

    public SchemaApplyController(SchemaApplyService service, JobRunner jobs) {
        this.service = service;
        this.jobs = jobs;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/schema-apply", this::apply, Access.JOB);
    }

    /**
     * {@code POST /v1/migrations/{m}/schema-apply[?wait=N]} {@code {database, check, privileges, role_map}}: a job that
     * restores the pre-data (unless every table exists) with the source's owners and privileges in the same
     * transaction, and then the missing primary keys and replica-identity indexes. With
     * {@code check}, the plan is computed and returned at once and nothing runs.
     * <ul>
     *   <li>200: with check: {@link ApplyResult}; else {@code {"job": ...}} finished within {@code wait} seconds
     *       (a failed job too: see its {@code state} and {@code error})</li>
     *   <li>202: {@code {"job": ...}} running; poll {@code GET /v1/jobs/{id}} (also in {@code Location})</li>
     *   <li>400 {@code invalid_request}: bad migration id, body or {@code wait}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: archive or manifest not uploaded</li>
     *   <li>404 {@code database_not_found}: no such database</li>
     *   <li>409 {@code operation_in_progress}: another long step runs (its job id is in {@code objects})</li>
     *   <li>422 {@code extensions_missing}: the target cannot create these extensions (in {@code objects})</li>
     *   <li>422 {@code extension_schema_missing}: extensions live in schemas outside the scope that this database
     *       lacks (in {@code objects})</li>
     *   <li>422 {@code target_schema_partial}: some but not all tables exist (the existing ones in
     *       {@code objects})</li>
     *   <li>422 {@code roles_missing}: with privileges, roles the owners and grants name (through {@code role_map})
     *       do not exist here (in {@code objects}); run the roles step</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a catalog query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     * The job fails with {@code pg_restore_failed} (the tool's error lines in {@code detail}),
     * {@code pg_tools_unavailable}, or the same catalog errors.
     */
    void apply(Context ctx) throws InterruptedException {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        ApplyRequest request = JsonBody.read(ctx, ApplyRequest.class);
        JobsController.waitSeconds(ctx); // a bad wait is refused before anything starts
        if (request.check()) {
            ctx.json(service.check(m, request));
            return;
        }
        JobsController.respond(ctx, jobs, service.start(m, request));
    }
}
