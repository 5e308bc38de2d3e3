package io.pgferry.agent.publication;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Source side: the publication of the tables in scope. */
public final class PublicationController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/publication";

    private final PublicationService service;

    public PublicationController(PublicationService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put(PATH, this::put, Access.CHANGE);
        routes.delete(PATH, this::delete, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/publication}: creates publication {@code pgferry_<m>} for the tables in scope,
     * or brings its tables and options in line; sets REPLICA IDENTITY FULL on the tables listed in
     * {@code replica_identity_full} (and their partitions). Everything happens in one transaction.
     * <ul>
     *   <li>200: {@code {changed, check, queries, publication: {name, exists, tables,
     *       publish_via_partition_root, replica_identity_full}}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code publication_conflict}: a publication of that name publishes all tables or whole
     *       schemas</li>
     *   <li>409 {@code scope_changed}: the migration's slot exists (its stream has begun) and the scope would add or
     *       drop tables of the publication (or change publish_via_partition_root); nothing was changed</li>
     *   <li>422 {@code table_without_replica_identity}: tables in scope have no primary key or replica identity;
     *       nothing was changed</li>
     *   <li>422 {@code unlogged_tables}: unlogged tables in scope (with {@code unlogged_tables: empty}, only unlogged
     *       partitions, whose root would be published); nothing was changed</li>
     *   <li>422 {@code unknown_objects}: the scope or replica_identity_full names tables that do not exist or are
     *       not in scope</li>
     *   <li>422 {@code scope_splits_tables}: a table in scope has partitions or inheritance children outside it</li>
     *   <li>422 {@code replica_identity_full_uncomparable}: a table compared whole (REPLICA IDENTITY FULL, set or
     *   asked for) has a column whose type has no equality operator; nothing was changed</li>
     *   <li>422 {@code no_tables_in_scope}: the scope selects no table</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, PublicationRequest.class)));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/publication?database=..[&check=true]}: drops the publication if it exists.
     * <ul>
     *   <li>200: {@code {changed, check, queries, publication: {name, exists: false}}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, missing database parameter, bad check parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused the statement</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void delete(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.drop(migration, Params.databaseParam(ctx), Params.checkParam(ctx)));
    }
}
