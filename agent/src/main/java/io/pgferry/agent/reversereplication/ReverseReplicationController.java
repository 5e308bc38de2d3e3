package io.pgferry.agent.reversereplication;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides after cutover: a stream from the new primary back to the old source. */
public final class ReverseReplicationController implements RouteGroup {
    private final ReverseReplicationService service;

    public ReverseReplicationController(ReverseReplicationService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put("/v1/migrations/{m}/reverse-replication", this::put, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/reverse-replication}: {@code side: publisher} (new primary) creates or corrects
     * role {@code pgferry_<m>} and creates publication {@code pgferry_<m>_reverse} for the manifest's tables;
     * {@code side: subscriber} (old source, fenced or not) creates subscription {@code pgferry_<m>_reverse} with
     * {@code copy_data = false} (and {@code origin = none} on 16+). Present objects are left as they are.
     * <ul>
     *   <li>200: {@code {changed, check, queries, side, name, tables, origin, conninfo (password masked)}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad side, missing password or connection</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: this agent has no manifest of the migration</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>422 {@code unknown_objects}: tables of the manifest are missing here</li>
     *   <li>502 {@code publisher_unreachable}: subscriber side, the new primary could not be reached within 15 s to
     *       create the slot; nothing was created</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, ReverseReplicationRequest.class)));
    }
}
