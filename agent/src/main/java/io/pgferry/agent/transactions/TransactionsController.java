package io.pgferry.agent.transactions;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;

/** The side clients leave: the transactions a cutover's PAUSE would wait for, read before anyone is paused. */
public final class TransactionsController implements RouteGroup {
    private final TransactionsService service;

    public TransactionsController(TransactionsService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/migrations/{m}/transactions", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/migrations/{m}/transactions?database=..}: the client transactions open on the database, oldest
     * first (pid, user, application, client address, state, seconds open; no query text), and how many client
     * sessions the agent's role may not see. Read only.
     * <ul>
     *   <li>200: {@link Transactions}</li>
     *   <li>400 {@code invalid_request}: bad migration id or missing database parameter</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused the query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void get(Context ctx) {
        Params.migration(ctx);
        ctx.json(service.open(Params.databaseParam(ctx)));
    }
}
