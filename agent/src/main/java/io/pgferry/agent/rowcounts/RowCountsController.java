package io.pgferry.agent.rowcounts;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.BadRequestException;
import java.util.Map;

/**
 * Either side: exact row counts of the migration's tables, and what a client needs to compare them with the other
 * side's while writes go on (docs/design.md, "The copy proves itself"). Read-only.
 */
public final class RowCountsController implements RouteGroup {
    private final RowCountsService service;

    public RowCountsController(RowCountsService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/row-counts", this::counts, Access.READ);
        routes.post("/v1/migrations/{m}/row-counts/snapshot", this::snapshot, Access.READ);
        routes.delete("/v1/migrations/{m}/row-counts/snapshot", this::release, Access.CHANGE);
        routes.post("/v1/migrations/{m}/row-counts/changes", this::changes, Access.READ);
        routes.post("/v1/migrations/{m}/row-counts/lookup", this::lookup, Access.READ);
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts}: {@code count(*)} of each table (default: the manifest's) in one
     * REPEATABLE READ snapshot - the one held by {@code row-counts/snapshot} when {@code snapshot} names it, which is
     * then released unless {@code release: false} - with row-level security off, so a count is complete or an error.
     * With {@code since} (the {@code visible} of a snapshot), also the rows whose inserting transaction that snapshot
     * did not see, and with {@code keys} their keys and those of the rows such a transaction deleted, updated or
     * locked (tables with a primary key or replica identity index); {@code changes: inserted} or {@code touched}
     * computes only that half.
     * <ul>
     *   <li>200: {@code {tables: [{schema, name, rows, inserted_since, new_keys, touched_keys}]}}; {@code rows} null
     *       for a table that does not exist here</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found},
     *       {@code archive_not_found} (no tables given and no manifest), {@code snapshot_not_found}</li>
     *   <li>422 {@code rows_not_countable}: the agent's role cannot read every row of the table named</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void counts(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.counts(migration, JsonBody.read(ctx, CountRequest.class)));
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts/snapshot}: reads the tables' insert and delete counters, exports and
     * holds a snapshot (at most {@code hold_seconds}) with the WAL position read inside it and; with {@code
     * wait_for_subscriber} (publisher), waits until the subscriber of slot {@code pgferry_<m>} has applied up to that
     * position.
     * <ul>
     *   <li>200: {@code {snapshot, lsn, visible, applied_lsn, waited_ms, changes: [{schema, name, inserts,
     *       deletes}]}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found},
     *       {@code archive_not_found}, {@code slot_not_found}</li>
     *   <li>409 {@code too_many_snapshots}: 16 are held already</li>
     *   <li>504 {@code catch_up_timeout}: the subscriber did not apply up to it within {@code timeout_seconds}</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void snapshot(Context ctx) throws InterruptedException {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.snapshot(migration, JsonBody.read(ctx, SnapshotRequest.class)));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/row-counts/snapshot?snapshot=}: lets go of a held snapshot.
     * <ul>
     *   <li>200: {@code {changed}} (false when it was not held)</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}</li>
     * </ul>
     */
    public void release(Context ctx) {
        Params.migration(ctx);
        String snapshot = ctx.queryParam("snapshot");
        if (snapshot == null || !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "add ?snapshot=<id answered by row-counts/snapshot>");
        }
        ctx.json(Map.of("changed", service.release(snapshot)));
    }

    /**
     * {@code POST /v1/migrations/{m}/row-counts/lookup}: which of the given keys each table holds, in a held snapshot
     * (released afterwards unless {@code release: false}).
     * <ul>
     *   <li>200: {@code {tables: [{schema, name, found: [keys]}]}}</li>
     *   <li>400 {@code invalid_request} (more than 20000 keys a table), 401 {@code unauthorized}, 404
     *       {@code database_not_found}, {@code snapshot_not_found}, 502 {@code postgres_error}, 503
     *       {@code postgres_unavailable}</li>
     * </ul>
     */
    public void lookup(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.lookup(migration, JsonBody.read(ctx, LookupRequest.class)));
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
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.changes(migration, JsonBody.read(ctx, CountRequest.class)));
    }
}
