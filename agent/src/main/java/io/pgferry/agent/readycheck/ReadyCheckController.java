package io.pgferry.agent.readycheck;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Both sides, before a cutover: is the migration in a state where it can be switched? */
public final class ReadyCheckController implements RouteGroup {
    private final ReadyCheckService service;

    public ReadyCheckController(ReadyCheckService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/ready-check", this::post, Access.READ);
    }

    /**
     * {@code POST /v1/migrations/{m}/ready-check}: with {@code side: source}, compares the scope's schema with the
     * fingerprint taken with the schema archive, reads the slot's lag in bytes and lists the scope's sequences; with
     * {@code side: target}, checks every table of the subscription is ready, the apply lag and that the listed
     * sequences exist and (PostgreSQL 18) that the subscription counted no conflict. With the scope rule (include/exclude fields), the source resolves it again: a schema or table
     * it selects now that the schema archive did not move is drift. Read-only.
     * <ul>
     *   <li>200: {@code {side, ready: true, schema_sha256, lag_bytes, lag_seconds, tables, sequences,
     *       replica_identities}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad side or limits, bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}, {@code fingerprint_not_found}: no schema archive (scope) or fingerprint
     *       of the migration on this agent</li>
     *   <li>404 {@code database_not_found}, {@code subscription_not_found}</li>
     *   <li>422 {@code other_migration}: (source) another pgferry migration publishes from the same database: its
     *       cutover would fence and move it too; nothing paused</li>
     *   <li>422 {@code schema_drift}: objects of the scope changed since the archive; {@code objects} lists each</li>
     *   <li>422 {@code scope_drift}: the scope rule now selects schemas or tables the migration did not copy</li>
     *   <li>422 {@code unknown_objects}: the scope rule names schemas or tables that do not exist</li>
     *   <li>422 {@code agent_lacks_rights}: (source, with {@code reverse_replication}) the agent's role may not
     *   create the reverse stream's subscription in this database</li>
     *   <li>422 {@code scope_splits_tables}: a table in scope has partitions or inheritance children outside it</li>
     *   <li>422 {@code lag_too_high}, {@code tables_not_ready}, {@code subscription_not_streaming}: not yet</li>
     *   <li>422 {@code slot_missing}, {@code sequences_missing}: the migration is broken</li>
     *   <li>422 {@code subscription_conflicts}: (target, PostgreSQL 18) the subscription counted conflicts - changes it
     *       could not apply as made; {@code objects} names the tables (from the server log, when readable) and the
     *       counters</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.check(migration, JsonBody.read(ctx, ReadyCheckRequest.class)));
    }
}
