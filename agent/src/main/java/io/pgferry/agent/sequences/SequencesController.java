package io.pgferry.agent.sequences;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.Params;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;

/** Either side: read the scope's sequences (GET) and set them from the other side's positions (PUT). */
public final class SequencesController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/sequences";

    private final SequencesService service;

    public SequencesController(SequencesService service) {
        this.service = service;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get(PATH, this::get, Access.READ);
        routes.put(PATH, this::put, Access.CHANGE);
    }

    /**
     * {@code GET /v1/migrations/{m}/sequences?database=..}: every sequence of the migration's scope (the schemas of
     * its schema archive, less sequences owned by excluded tables), with last_value, is_called, increment and the
     * owning column.
     * <ul>
     *   <li>200: {@code {sequences: [{schema, name, last_value, is_called, increment, owned_by}]}}</li>
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
     * {@code PUT /v1/migrations/{m}/sequences}: {@code setval} of each listed sequence to its position plus
     * {@code gap}, unless it is already there or beyond; in one transaction.
     * <ul>
     *   <li>200: {@code {changed, check, queries, sequences: [...], unchanged: [...]}}</li>
     *   <li>400 {@code invalid_request}: malformed body or bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: the database does not exist</li>
     *   <li>422 {@code sequences_missing}: listed sequences do not exist here (nothing was changed)</li>
     *   <li>502 {@code postgres_error}, 503 {@code postgres_unavailable}, 500 {@code internal_error}</li>
     * </ul>
     */
    public void put(Context ctx) {
        MigrationId migration = Params.migration(ctx);
        ctx.json(service.apply(migration, JsonBody.read(ctx, SequencesRequest.class)));
    }
}
