package io.pgferry.agent.stopreplication;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Subscriber side: drop the migration's subscription (and so its slot on the publisher). */
public final class StopReplicationController implements RouteGroup {
    private final StopReplicationService service;

    public StopReplicationController(StopReplicationService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/stop-replication", this::post, Access.CHANGE);
    }

    /**
     * {@code POST /v1/migrations/{m}/stop-replication}: {@code ALTER SUBSCRIPTION .. DISABLE; DROP SUBSCRIPTION}
     * of {@code pgferry_<m>} (forward, on the target) or {@code pgferry_<m>_reverse} (reverse, on the old
     * source); nothing when it is already gone. With {@code drop: false}: {@code ALTER SUBSCRIPTION .. DISABLE} and
     * the tempered triggers back, in one transaction - the apply stops, the subscription and slot stay.
     * <ul>
     *   <li>200: {@code {changed, check, queries, subscription, exists}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad direction, if_unreachable or migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code publisher_unreachable}: the slot could not be dropped on the publisher; the subscription
     *       stays, enabled again as it was (or disabled, with {@code if_unreachable: disable})</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.stop(migration, JsonBody.read(ctx, StopReplicationRequest.class)));
    }
}
