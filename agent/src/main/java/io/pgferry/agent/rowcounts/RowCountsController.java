package io.pgferry.agent.rowcounts;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;

/**
 * Either side: exact row counts of the migration's tables, and on the publisher what a client needs to compare them
 * with the subscriber's while writes go on (docs/design.md, "The copy proves itself"). Read-only.
 */
public final class RowCountsController implements RouteGroup {
    private final RowCountsService service;

    public RowCountsController(RowCountsService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/row-counts", this::counts);
        routes.post("/v1/migrations/{m}/row-counts/mark", this::mark);
        routes.post("/v1/migrations/{m}/row-counts/changes", this::changes);
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts}: {@code count(*)} of each table (default: the manifest's) in one
     * REPEATABLE READ snapshot - the one held by {@code row-counts/mark} when {@code snapshot} names it - with
     * row-level security off, so a count is complete or an error.
     * <ul>
     *   <li>200: {@code {tables: [{schema, name, rows}]}}; {@code rows} null for a table that does not exist here</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found},
     *       {@code archive_not_found} (no tables given and no manifest)</li>
     *   <li>422 {@code rows_not_countable}: the agent's role cannot read every row of the table named</li>
     *   <li>502 {@code postgres_error} (also: the snapshot named is no longer held), 503 {@code postgres_unavailable},
     *       500 {@code internal_error}</li>
     * </ul>
     */
    public void counts(Context ctx) {
        MigrationId migration = Steps.migration(ctx);
        ctx.json(service.counts(migration, JsonBody.read(ctx, CountRequest.class)));
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts/mark} (publisher): reads the tables' insert and delete counters,
     * exports and holds a snapshot with the WAL position read inside it, and waits until the subscriber of slot
     * {@code pgferry_<m>} has applied up to that position.
     * <ul>
     *   <li>200: {@code {snapshot, lsn, applied_lsn, waited_ms, changes: [{schema, name, inserts, deletes}]}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found},
     *       {@code archive_not_found}, {@code slot_not_found}</li>
     *   <li>504 {@code catch_up_timeout}: the subscriber did not apply up to the mark within
     *       {@code timeout_seconds}</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void mark(Context ctx) throws InterruptedException {
        MigrationId migration = Steps.migration(ctx);
        ctx.json(service.mark(migration, JsonBody.read(ctx, MarkRequest.class)));
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts/changes}: the tables' cumulative insert and delete counters now.
     * <ul>
     *   <li>200: {@code {tables: [{schema, name, inserts, deletes}]}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found},
     *       {@code archive_not_found}, 502 {@code postgres_error}, 503 {@code postgres_unavailable}</li>
     * </ul>
     */
    public void changes(Context ctx) {
        MigrationId migration = Steps.migration(ctx);
        ctx.json(service.changes(migration, JsonBody.read(ctx, CountRequest.class)));
    }
}
