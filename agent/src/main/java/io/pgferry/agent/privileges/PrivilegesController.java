package io.pgferry.agent.privileges;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Owners, grants, default privileges, policy roles and database settings: read on either side, made equal on the target. */
public final class PrivilegesController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/privileges";

    private final PrivilegesService service;

    public PrivilegesController(PrivilegesService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get(PATH, this::get, Access.READ);
        routes.put(PATH, this::put, Access.CHANGE);
    }

    /**
     * {@code GET /v1/migrations/{m}/privileges?database=..}: the owners and ACLs of every object of the migration's
     * scope (the schemas of its manifest, less the tables left out), its default privileges, policy roles, and the
     * database's owner, ACL, settings and comment. Read-only; pgferry's own roles are left out.
     * <ul>
     *   <li>200: {@code {server_major, database: {owner, acl, settings, comment, security_labels}, objects: [{type,
     *       names, args, owner, acl: [{grantee, grantor, privilege, grantable}]}], default_acls, policies,
     *       superusers}}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: this agent has no manifest of the migration (its scope)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.read(migration, Params.databaseParam(ctx)));
    }

    /**
     * {@code PUT /v1/migrations/{m}/privileges} {@code {database, source | connection, role_map, check}}: makes
     * owners, ACLs (columns included), default privileges, policy roles and the database's owner, ACL, settings and
     * comment equal to {@code source} (the source's GET answer), or to what this agent reads on the source over
     * {@code connection} (the subscription's), through the role map, in one transaction; only what differs is
     * changed, so a rerun changes nothing. With {@code check}, answers the differences and the SQL only.
     * <ul>
     *   <li>200: {@code {changed, check, queries, privileges: {objects, equal, differences, missing, notes}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, a role map naming pg_* or pgferry_*
     *       roles</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: with {@code connection}, this agent has no manifest of the migration (its
     *       scope; the schema apply brings it)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>409 {@code operation_in_progress}: another call changes this migration</li>
     *   <li>413 {@code body_too_large}: a body over 32 MiB (the source's privileges of some 50,000 tables)</li>
     *   <li>422 {@code roles_missing}: roles the privileges name do not exist here (run the roles step)</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (nothing was changed)</li>
     *   <li>502 {@code source_unreachable}, {@code source_error}: with {@code connection}, the source could not be
     *       reached or refused the read (nothing was changed)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, PrivilegesRequest.class, PrivilegesRequest.MAX_BODY_BYTES)));
    }
}
