package io.pgferry.agent.subscription;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Target side: the subscription to the source's publication. */
public final class SubscriptionController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/subscription";

    private final SubscriptionService service;

    public SubscriptionController(SubscriptionService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put(PATH, this::put, Access.CHANGE);
        routes.delete(PATH, this::delete, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/subscription}: creates subscription {@code pgferry_<m>} to publication
     * {@code pgferry_<m>} with slot {@code pgferry_<m>}, or brings its connection, binary, streaming and enabled
     * in line. The password is never returned; {@code conninfo} and {@code queries} mask it.
     * <ul>
     *   <li>200: {@code {changed, check, queries, subscription: {name, exists, enabled, publications, slot_name,
     *       binary, streaming, conninfo}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, invalid connection fields</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code subscription_conflict}: a subscription of that name uses another slot or publication,
     *       or exists in another database</li>
     *   <li>422 {@code option_unsupported}: streaming = parallel on a target older than 16</li>
     *   <li>422 {@code target_tables_missing}: the source publishes tables the target lacks</li>
     *   <li>422 {@code target_tables_not_empty}: a new subscription that copies data, and tables it would copy hold
     *       rows on the target; nothing was made</li>
     *   <li>502 {@code source_unreachable}: the target could not connect to the source or create the slot</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (e.g. not superuser on 14/15)</li>
     *   <li>503 {@code postgres_unavailable}: the local PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, SubscriptionRequest.class)));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/subscription?database=..[&check=true]}: disables and drops the
     * subscription, which drops its slot on the source.
     * <ul>
     *   <li>200: {@code {changed, check, queries, subscription: {name, exists: false}}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, missing database parameter, bad check parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code subscription_conflict}: the subscription of that name is in another database</li>
     *   <li>502 {@code source_unreachable}: the source could not be reached to drop the slot; the detail gives
     *       the manual fix</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement</li>
     *   <li>503 {@code postgres_unavailable}: the local PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void delete(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.drop(migration, Params.databaseParam(ctx), Params.checkParam(ctx)));
    }
}
