package io.pgferry.agent.catchup;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;

/** Publishing side: wait until the subscriber has applied and flushed everything up to a WAL position. */
public final class CatchUpController implements RouteGroup {
    private final CatchUpService service;

    public CatchUpController(CatchUpService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/catch-up", this::post);
    }

    /**
     * {@code POST /v1/migrations/{m}/catch-up}: polls the slot's confirmed_flush_lsn until it reaches {@code lsn}
     * (default: pg_current_wal_lsn() when the call starts) or {@code timeout_seconds} pass.
     * <ul>
     *   <li>200: {@code {catch_up: {slot, lsn, confirmed_flush_lsn, behind_bytes, waited_ms}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad lsn, direction or timeout</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>404 {@code slot_not_found}: the database has no slot of this migration and direction</li>
     *   <li>504 {@code catch_up_timeout}: the subscriber did not confirm the position in time</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void post(Context ctx) throws InterruptedException {
        MigrationId migration = Steps.migration(ctx);
        ctx.json(service.catchUp(migration, JsonBody.read(ctx, CatchUpRequest.class)));
    }
}
