package io.pgferry.agent.leftbehind;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.preflight.LeftBehindChecks;
import io.pgferry.agent.problem.BadRequestException;

/** Source: what the migration does not move, for the report at the end of the migrate and cutover playbooks. */
public final class LeftBehindController implements RouteGroup {
    private final LeftBehindService service;

    public LeftBehindController(LeftBehindService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/migrations/{m}/left-behind", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/migrations/{m}/left-behind?database=..[&unlogged_tables=refuse|empty]
     * [&refresh_materialized_views=true][&skip_large_objects=true]}: per kind of object the migration does not move
     * (unlogged tables' rows, materialized views' later contents, foreign tables' data, event triggers, the database's
     * own publications, subscriptions and replication slots, tablespaces, extensions' configuration rows, pg_cron jobs,
     * large objects when skipped), a warning naming the objects - the preflight's checks, on the scope of the
     * migration's schema archive. Read-only.
     * <ul>
     *   <li>200: {@code {database, items: [{code, severity, objects, message, fix}]}}</li>
     *   <li>400 {@code invalid_request}: bad migration id or parameters</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: this agent made no schema archive for the migration (its scope)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        String database = Params.databaseParam(ctx);
        LeftBehindChecks.Options options = new LeftBehindChecks.Options(
                UnloggedTables.require(ctx.queryParam("unlogged_tables")), flag(ctx, "refresh_materialized_views"));
        ctx.json(service.read(migration, database, options, flag(ctx, "skip_large_objects")));
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
