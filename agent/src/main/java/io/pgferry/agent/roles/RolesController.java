package io.pgferry.agent.roles;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** The roles a database needs: read on the source, created where missing on the target. */
public final class RolesController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/roles";

    private final RolesService service;

    public RolesController(RolesService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get(PATH, this::get, Access.READ);
        routes.put(PATH, this::put, Access.CHANGE);
    }

    /**
     * {@code GET /v1/migrations/{m}/roles?database=..} (source): every role the migration's scope needs (owners,
     * grantees and grantors, policy, default-privilege and setting roles, their groups and their members) with
     * attributes, memberships, settings, comment and, when pg_authid is readable, SCRAM verifiers. This answer is the
     * one that carries verifiers (password-equivalent for offline guessing): it goes to the target's PUT and nowhere
     * else. Read-only.
     * <ul>
     *   <li>200: {@code {server_major, passwords_read, roles: [{name, superuser, inherit, createrole, createdb,
     *       login, replication, bypassrls, connection_limit, valid_until, password, verifier, settings, comment,
     *       member_of, why}]}}</li>
     *   <li>400 {@code invalid_request}, 401 {@code unauthorized}</li>
     *   <li>404 {@code archive_not_found}: no manifest of the migration here (make the schema archive first)</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void get(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.read(migration, Params.databaseParam(ctx)));
    }

    /**
     * {@code PUT /v1/migrations/{m}/roles} {@code {database, roles, role_map, allow_role_rights, allow_shared_roles,
     * check}} (target): creates the missing roles (attributes, SCRAM verifier, settings, comment) and grants the
     * missing memberships, in one transaction; existing roles are compared, never changed. A rerun changes nothing.
     * <ul>
     *   <li>200: {@code {changed, check, queries (verifiers masked), roles: {needed, created, present, memberships,
     *       passwords_not_moved, warnings}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, a non-SCRAM verifier, a role map naming
     *       pg_* or pgferry_* roles</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>409 {@code operation_in_progress}: another call changes this migration</li>
     *   <li>422 {@code role_conflicts}: findings that stop the step (docs/findings.md, "Roles"); nothing changed</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (nothing was changed)</li>
     *   <li>503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, RolesRequest.class)));
    }
}
