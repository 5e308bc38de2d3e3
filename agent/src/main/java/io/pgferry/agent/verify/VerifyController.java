package io.pgferry.agent.verify;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Either side: per-table row counts and checksums, and sequence positions, to compare with the other side. */
public final class VerifyController implements RouteGroup {
    private final VerifyService service;

    public VerifyController(VerifyService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/verify", this::post, Access.READ);
        routes.post("/v1/migrations/{m}/verify/snapshot", this::exportSnapshot, Access.READ);
        routes.delete("/v1/migrations/{m}/verify/snapshot", this::releaseSnapshot, Access.CHANGE);
    }

    /**
     * {@code POST /v1/migrations/{m}/verify/snapshot}: exports a snapshot of the database and holds it (at most
     * {@code hold_seconds}), so that a later {@code verify} with {@code snapshot} reads the database as of now.
     * <ul>
     *   <li>200: {@code {database, snapshot, expires_at}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}, 404 {@code database_not_found}</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void exportSnapshot(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        SnapshotRequest request = JsonBody.read(ctx, SnapshotRequest.class);
        ctx.json(service.snapshots().export(migration, request.database(), request.holdSeconds()));
    }

    /** {@code DELETE /v1/migrations/{m}/verify/snapshot?database=}: releases the held snapshot; 200 {@code {changed}}. */
    public void releaseSnapshot(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(java.util.Map.of("changed", service.snapshots().release(migration, Params.databaseParam(ctx), null)));
    }

    /**
     * {@code POST /v1/migrations/{m}/verify}: count and checksum of each table (default: the manifest's), in one
     * snapshot; with {@code sample_rows}, large tables on one primary-key range (answered in {@code range}, to be
     * sent as {@code ranges} to the other side). Read-only; the client compares the two answers.
     * <ul>
     *   <li>200: {@code {tables: [{schema, name, rows, checksum, range}], sequences: [...]}}; checksum
     *       {@code missing} for a table that does not exist here</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: this agent has no manifest of the migration</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.verify(migration, JsonBody.read(ctx, VerifyRequest.class)));
    }
}
