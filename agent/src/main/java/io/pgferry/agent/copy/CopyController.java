package io.pgferry.agent.copy;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;

/** Target side: pgferry's own initial copy under the slot's snapshot, then the subscription on that slot. */
public final class CopyController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/copy";

    private final CopyService service;
    private final JobRunner jobs;

    public CopyController(CopyService service, JobRunner jobs) {
        this.service = service;
        this.jobs = jobs;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post(PATH, this::post, Access.JOB);
        routes.get(PATH, this::get, Access.READ);
    }

    /**
     * {@code POST /v1/migrations/{m}/copy[?wait=N]} {@code {database, connection, jobs, index_jobs, binary,
     * streaming, check}}: a job that creates slot {@code pgferry_<m>} on the source with an exported snapshot, copies
     * every table of the schema archive inside it ({@code jobs} at a time, big tables in ctid ranges), builds each
     * table's keys and indexes as its rows are committed ({@code index_jobs} at a time), then creates subscription
     * {@code pgferry_<m>} on that slot with {@code copy_data = false}. A rerun after an interruption copies again
     * under a new slot (docs/design.md, "Own initial copy"). With {@code check}, what it would do is answered at once.
     * <ul>
     *   <li>200: with check: {@link CopyResult}; else {@code {"job": ...}} finished within {@code wait} seconds
     *       (a failed job too: see its {@code state} and {@code error}); the job's result is a {@link CopyResult}</li>
     *   <li>202: {@code {"job": ...}} running; poll {@code GET /v1/jobs/{id}} (also in {@code Location})</li>
     *   <li>400 {@code invalid_request}: bad migration id, body, connection, {@code jobs} or {@code index_jobs}
     *       (beyond this agent's copy_max_jobs or copy_max_connections), or {@code wait}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}, {@code database_not_found}</li>
     *   <li>409 {@code operation_in_progress}: another long step runs (its job id is in {@code objects})</li>
     *   <li>409 {@code slot_conflict}, {@code slot_in_use}: the source has slot {@code pgferry_<m>} this copy did
     *       not make, or something streams from it</li>
     *   <li>409 {@code copy_finished}: the copy was done and its subscription is gone since (cut over)</li>
     *   <li>409 {@code copy_conflict}: this migration's copy went into another database</li>
     *   <li>422 {@code publication_missing}, {@code publication_mismatch}: the publication must hold exactly the
     *       archive's tables before the slot is made</li>
     *   <li>422 {@code target_tables_not_empty}: tables hold rows no copy of this migration wrote</li>
     *   <li>502 {@code source_unreachable}: the target agent could not connect to the source</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     * The job fails with the same codes, or {@code slot_create_failed}, {@code copy_failed} (the table and the
     * server's message), {@code copy_rows_mismatch}, {@code tables_missing_on_source}, {@code pg_restore_failed}.
     */
    void post(Context ctx) throws InterruptedException {
        MigrationId m = Params.migration(ctx);
        CopyRequest request = JsonBody.read(ctx, CopyRequest.class);
        JobsController.waitSeconds(ctx); // a bad wait is refused before anything starts
        if (request.check()) {
            ctx.json(service.check(m, request));
            return;
        }
        JobsController.respond(ctx, jobs, service.start(m, request));
    }

    /**
     * {@code GET /v1/migrations/{m}/copy?database=..}: the copy's state and progress (bytes per table, ETA) while it
     * runs, else as it ended; per table the rows read in the snapshot and written on the target.
     * <ul>
     *   <li>200: {@link CopyView}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code copy_not_found}: no copy of this migration into that database on this agent</li>
     *   <li>500 {@code internal_error}: a bug in the agent, or an unreadable state file</li>
     * </ul>
     */
    void get(Context ctx) {
        MigrationId m = Params.migration(ctx);
        ctx.json(service.view(m, Params.databaseParam(ctx)));
    }
}
