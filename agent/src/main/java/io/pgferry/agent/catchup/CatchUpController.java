package io.pgferry.agent.catchup;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/**
 * Catching up: on the publishing side, wait until the subscriber has applied and flushed everything up to a WAL
 * position; on the subscribing side, make it confirm what it applies at once (before the pause) or not (after).
 */
public final class CatchUpController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/catch-up";

    private final CatchUpService service;
    private final SubscriberCommitService subscriber;

    public CatchUpController(CatchUpService service, SubscriberCommitService subscriber) {
        this.service = service;
        this.subscriber = subscriber;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post(PATH, this::post, Access.READ);
        routes.put(PATH, this::put, Access.CHANGE);
        routes.delete(PATH, this::delete, Access.CHANGE);
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
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.catchUp(migration, JsonBody.read(ctx, CatchUpRequest.class)));
    }

    /**
     * {@code PUT /v1/migrations/{m}/catch-up}: subscribing side, before the cutover's pause: the stream's
     * subscription commits what it applies with synchronous_commit = on, so it confirms each change to the publisher
     * at once (it was created with off, which confirms only after the WAL writer's next flush).
     * <ul>
     *   <li>200: {@code {changed, check, queries, subscriber: {subscription, synchronous_commit}}}</li>
     *   <li>400 {@code invalid_request}: malformed body, bad migration id, database or direction</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>404 {@code subscription_not_found}: the database has no subscription of this migration and direction</li>
     *   <li>409 {@code operation_in_progress}: another changing request of this migration runs here</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused the statement (the agent's role does not own the
     *       subscription)</li>
     *   <li>503 {@code postgres_unavailable}: the local PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(subscriber.prompt(migration, JsonBody.read(ctx, SubscriberCommitRequest.class)));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/catch-up?database=..[&direction=reverse][&check=true]}: subscribing side,
     * when a cutover is undone and the stream goes on: synchronous_commit = off again, as the subscription was
     * created, and the subscription enabled again if the pause's stop-replication had disabled it.
     * <ul>
     *   <li>200: {@code {changed, check, queries, subscriber: {subscription, synchronous_commit}}}</li>
     *   <li>400 {@code invalid_request}: bad migration id, missing database parameter, bad direction or check</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>404 {@code subscription_not_found}: the database has no subscription of this migration and direction</li>
     *   <li>409 {@code operation_in_progress}: another changing request of this migration runs here</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void delete(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(subscriber.relax(migration, new SubscriberCommitRequest(Params.databaseParam(ctx),
                ctx.queryParam("direction"), Params.checkParam(ctx))));
    }
}
