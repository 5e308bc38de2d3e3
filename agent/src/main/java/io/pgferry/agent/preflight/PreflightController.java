package io.pgferry.agent.preflight;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides: the checks before a migration starts. Read-only. */
public final class PreflightController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/preflight";

    private final PreflightService service;

    public PreflightController(PreflightService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post(PATH, this::post, Access.READ);
    }

    /**
     * {@code POST /v1/migrations/{m}/preflight}: checks one side ({@code side: source|target}) for what would make
     * the migration fail or lose data, and changes nothing. Every problem found is a finding in a 200 answer, with
     * a stable code (docs/findings.md), a severity ({@code error} blocks, {@code warning} informs), the objects
     * concerned, a message and a fix.
     * <ul>
     *   <li>200: {@code {ok, side, findings: [{code, severity, objects, message, fix}], facts, notes}}; {@code ok}
     *       is false when any finding is an error</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, unknown side, a field of the other
     *       side, invalid connection fields</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: (source side) the database does not exist</li>
     *   <li>422 {@code unknown_objects}: (source side) the scope, replica_identity_full or replica_identity_index
     *       name schemas or tables that do not exist or are not in scope</li>
     *   <li>422 {@code scope_splits_tables}: a table in scope has partitions or inheritance children outside it</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a catalog query</li>
     *   <li>503 {@code postgres_unavailable}: the local PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void post(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.run(migration, JsonBody.read(ctx, PreflightRequest.class)));
    }
}
