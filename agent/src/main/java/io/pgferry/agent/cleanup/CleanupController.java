package io.pgferry.agent.cleanup;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides: remove every object and file of a migration, finished or abandoned. */
public final class CleanupController implements RouteGroup {
    private final CleanupService service;

    public CleanupController(CleanupService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/cleanup", this::post, Access.CHANGE);
    }

    /**
     * {@code POST /v1/migrations/{m}/cleanup}: drops, where present, subscriptions {@code pgferry_<m>} and
     * {@code pgferry_<m>_reverse} (detached from their slot when the publisher cannot be reached), the publications
     * and slots of those names (ending a walsender that still holds one), the fence, the copy policies {@code
     * pgferry_<m>} (row-level security), role {@code pgferry_<m>}
     * ({@code DROP OWNED BY}, {@code DROP ROLE}) and {@code state_dir/{m}/}. {@code keep_reverse} keeps the reverse
     * stream, its role and the state files. Safe to rerun.
     * <ul>
     *   <li>200: {@code {changed, check, queries, database, remaining, state_removed}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist, and a slot or subscription of the
     *   migration is in another one (named); nothing was changed. A database that is gone otherwise leaves only
     *   the role and the files to remove: 200</li>
     *   <li>422 {@code not_the_target}: {@code empty_tables} on the migration's source; nothing was changed</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) throws InterruptedException {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.cleanup(migration, JsonBody.read(ctx, CleanupRequest.class)));
    }
}
