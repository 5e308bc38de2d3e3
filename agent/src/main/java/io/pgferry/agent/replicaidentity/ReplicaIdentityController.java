package io.pgferry.agent.replicaidentity;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Target side: the source's replica identities on the target's tables, before the subscription streams. */
public final class ReplicaIdentityController implements RouteGroup {
    private final ReplicaIdentityService service;

    public ReplicaIdentityController(ReplicaIdentityService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put("/v1/migrations/{m}/replica-identity", this::put, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/replica-identity}: {@code ALTER TABLE .. REPLICA IDENTITY FULL | USING INDEX ..}
     * on each table of the received manifest (and its partitions) whose identity differs from {@code
     * replica_identities}, in one transaction, each recorded with what it replaced (cleanup puts it back).
     * <ul>
     *   <li>200: {@code {changed, check, queries, changed_tables}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}, {@code archive_not_found}: no database, or no manifest received</li>
     *   <li>422 {@code replica_identity_index_missing}: a source's identity index is not on the target yet (the
     *   archive predates the identity); nothing changed</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, ReplicaIdentityRequest.class)));
    }
}
