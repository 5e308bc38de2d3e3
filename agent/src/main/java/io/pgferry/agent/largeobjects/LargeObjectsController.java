package io.pgferry.agent.largeobjects;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.BadRequestException;

/**
 * Either side: large objects, which logical replication does not carry (docs/design.md, "Large objects"). Read this
 * side's (scan, export), make them what the other side exported (import), remember where a complete sync left off
 * (mark).
 */
public final class LargeObjectsController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/large-objects";

    private final LargeObjectsService service;

    public LargeObjectsController(LargeObjectsService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get(PATH, this::scan, Access.READ);
        routes.put(PATH, this::importStream, Access.CHANGE);
        routes.post(PATH + "/export", this::export, Access.CHANGE);
        routes.put(PATH + "/mark", this::mark, Access.CHANGE);
    }

    /**
     * {@code GET /v1/migrations/{m}/large-objects?database=..[&digests=auto|true|false]}: every large object of the
     * database, those changed since this side's mark (found from the transaction ids of pg_largeobject's rows: a
     * scan of their headers, not of the content), digests of their comments, and - with {@code digests}, by default
     * only when this side has no usable mark - a digest of each object's owner, ACL, comment and content. Read-only.
     * <ul>
     *   <li>200: {@code {database, objects, oids, mark, changed, next_mark, comments, digests, detection}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, database or digests parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query (reading a large object needs its SELECT
     *       right)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void scan(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        String digests = ctx.queryParam("digests");
        ctx.json(service.scan(migration, Params.databaseParam(ctx), digests == null ? "auto" : digests));
    }

    /**
     * {@code POST /v1/migrations/{m}/large-objects/export} {@code {database, oids, data}}: the listed large objects
     * with owner, ACL, comment and (unless {@code data} is false) content, read in one snapshot, as a stream in
     * pgferry's large-object format ({@code application/vnd.pgferry.large-objects}) for the other side's import;
     * an oid that does not exist here is sent as an unlink. A failure once streaming began ends the stream without
     * its end frame, so the import refuses it whole. Read-only (it records that this side takes part).
     * <ul>
     *   <li>200: the stream</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, an oid out of range, more than 50000</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code operation_in_progress}: another call changes this migration right now</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a query (reading a large object needs its SELECT
     *       right)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void export(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ExportRequest request = JsonBody.read(ctx, ExportRequest.class);
        service.export(migration, request, () -> {
            ctx.contentType(LoStream.CONTENT_TYPE);
            return ctx.outputStream();
        });
    }

    /**
     * {@code PUT /v1/migrations/{m}/large-objects?database=..[&check=true][&adopt=true]}, the body a stream the
     * other side's export answered: in one transaction, each object in it is written with its oid, owner, ACL and
     * comment (one that exists here is replaced), each unlink removes one. With {@code check}, nothing changes and
     * the statements are listed ({@code queries}, the first 200). A database that holds large objects pgferry never
     * wrote here is refused unless {@code adopt} says they are pgferry's own copies.
     * <ul>
     *   <li>200: {@code {changed, check, queries, large_objects: {database, copied, replaced, unlinked, bytes,
     *       xid}}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, parameters, or a body that is not such a stream</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code operation_in_progress}: another call changes this migration right now</li>
     *   <li>422 {@code stream_incomplete}: the stream ended before its end frame (nothing was changed)</li>
     *   <li>422 {@code large_objects_conflict}: objects to replace or remove that pgferry did not write here</li>
     *   <li>422 {@code roles_missing}: owners or grantees that do not exist here (nothing was changed)</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (nothing was changed)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void importStream(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        String database = Params.databaseParam(ctx);
        boolean check = Params.checkParam(ctx);
        boolean adopt = flag(ctx, "adopt");
        ctx.json(service.importStream(migration, database, check, adopt, ctx.bodyInputStream()));
    }

    /**
     * {@code PUT /v1/migrations/{m}/large-objects/mark} {@code {database, xmin, xids, check}}: once a sync is complete
     * on both sides, this side's mark - the {@code next_mark} of its scan, and on the side that received, the
     * {@code xid} of each import - so the next sync only looks at what changed since. Stored in the agent's state
     * directory; no SQL.
     * <ul>
     *   <li>200: {@code {changed, check, queries: [], large_objects: {database, mark}}}</li>
     *   <li>400 {@code invalid_request}: malformed body or ids</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code operation_in_progress}: another call changes this migration right now</li>
     *   <li>422 {@code mark_invalid}: the ids are newer than anything this server ran (another server's)</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void mark(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.mark(migration, JsonBody.read(ctx, MarkRequest.class)));
    }

    private static boolean flag(Context ctx, String name) {
        String value = ctx.queryParam(name);
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw new BadRequestException(name, name + " must be true or false");
    }
}
