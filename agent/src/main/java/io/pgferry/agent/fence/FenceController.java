package io.pgferry.agent.fence;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Either side: the write fence of a database during cutover (source) or rollback (target). */
public final class FenceController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/fence";

    private final FenceService service;

    public FenceController(FenceService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put(PATH, this::put, Access.CHANGE);
        routes.get(PATH, this::get, Access.READ);
        routes.delete(PATH, this::delete, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/fence}: {@code ALTER DATABASE .. SET default_transaction_read_only = on} when
     * missing, records the time in {@code state_dir/{m}/}, ends the client sessions of the database that began
     * before it (not walsenders, workers or the agent), then reads {@code pg_current_wal_lsn()} and, with
     * {@code sequences: true}, the scope's sequences in the same session.
     * <ul>
     *   <li>200: {@code {changed, check, queries, fence: {database, fenced, fenced_at, terminated, lsn,
     *       sequences}}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: sequences asked for, and no manifest of the migration here (nothing
     *       changed)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (e.g. the agent's role may not alter the
     *       database or end other roles' sessions)</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.fence(migration, JsonBody.read(ctx, FenceRequest.class)));
    }

    /**
     * {@code GET /v1/migrations/{m}/fence?database=..}: whether the database is fenced, and the current WAL
     * position.
     * <ul>
     *   <li>200: {@code {database, fenced, fenced_at, terminated: [], lsn}}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.status(migration, Params.databaseParam(ctx)));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/fence?database=..[&check=true]}: resets the setting when present and ends
     * the read-only sessions opened while it stood.
     * <ul>
     *   <li>200: {@code {changed, check, queries, fence: {database, fenced: false, terminated}}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, missing database parameter, bad check parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void delete(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.unfence(migration, Params.databaseParam(ctx), Params.checkParam(ctx)));
    }
}
