package io.pgferry.agent.database;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;

/** Target side: the database the migration fills. */
public final class DatabaseController implements RouteGroup {
    private final DatabaseService service;

    public DatabaseController(DatabaseService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put("/v1/migrations/{m}/database", this::put, Access.CHANGE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/database}: {@code CREATE DATABASE .. TEMPLATE template0 ENCODING ..
     * LC_COLLATE .. LC_CTYPE .. OWNER ..} when the database is missing; an existing one only gets its owner
     * corrected.
     * <ul>
     *   <li>200: {@code {changed, check, queries, database: {name, exists, owner, encoding, lc_collate,
     *       lc_ctype}}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>422 {@code owner_missing}: the owner role does not exist</li>
     *   <li>422 {@code database_mismatch}: the database exists with another encoding or locale</li>
     *   <li>422 {@code invalid_encoding}, {@code invalid_locale}, {@code template_missing}: the server cannot
     *       create the database as asked</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a statement (e.g. no CREATEDB)</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    public void put(Context ctx) {
        Params.migration(ctx);
        ctx.json(service.apply(JsonBody.read(ctx, DatabaseRequest.class)));
    }
}
