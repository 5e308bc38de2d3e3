package io.pgferry.agent.replicationrole;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;

/** Source side: the login role the target's subscription uses. */
public final class ReplicationRoleController implements RouteGroup {
    private final ReplicationRoleService service;

    public ReplicationRoleController(ReplicationRoleService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put("/v1/migrations/{m}/replication-role", this::put, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/replication-role}: creates or corrects role {@code pgferry_<m>} (LOGIN
     * REPLICATION, the given password, USAGE and SELECT on the scope and nothing more). A rerun with the same
     * password and scope changes nothing; the password is compared against the stored SCRAM verifier, never
     * stored or returned. Tables whose row-level security would hide rows from the initial copy get, with
     * {@code row_security: policy} (default), a temporary policy {@code pgferry_<m>} ({@code FOR SELECT TO
     * pgferry_<m> USING (true)}); with {@code bypassrls} the role gets BYPASSRLS; {@code copied: true} takes
     * either back once the copy is proven.
     * <ul>
     *   <li>200: {@code {changed, check, queries (password masked), role: {name, schemas, tables,
     *       sequences, row_security, bypassrls, copy_policies}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, missing or invalid password</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>422 {@code unknown_objects}: schemas or tables named in the scope do not exist</li>
     *   <li>422 {@code scope_splits_tables}: a table in scope has partitions or inheritance children outside it</li>
     *   <li>422 {@code agent_lacks_rights}: the agent's role (not a superuser) may not create or change the role on
     *   this version, or may not grant USAGE/SELECT on objects in scope (no grant option); nothing was changed</li>
     *   <li>422 {@code row_security_restrictive}: a restrictive policy would hide rows from the copy (only
     *       BYPASSRLS helps); {@code row_security_not_owner}: the agent's role may not create the copy policy;
     *       {@code bypassrls_not_allowed}: the agent's role may not grant BYPASSRLS. Nothing was changed</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (e.g. the agent's role lacks
     *       privileges)</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        var migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, ReplicationRoleRequest.class)));
    }
}
