package io.pgferry.agent.migration;

import io.javalin.http.Context;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/** What every migration-step handler does the same way: path and query parameters, database connections. */
public final class Steps {
    private Steps() {
    }

    /** The {@code {m}} path parameter; 400 when it is not a valid migration id. */
    public static MigrationId migration(Context ctx) {
        return new MigrationId(ctx.pathParam("m"));
    }

    /** The required {@code ?database=} query parameter of GET and DELETE routes. */
    public static String databaseParam(Context ctx) {
        String database = ctx.queryParam("database");
        if (database == null) {
            throw new BadRequestException("database", "add ?database=<name> to the URL");
        }
        return Names.require("database", database);
    }

    /** The optional {@code ?check=true} of DELETE routes. */
    public static boolean checkParam(Context ctx) {
        String check = ctx.queryParam("check");
        if (check == null || check.equals("false")) {
            return false;
        }
        if (check.equals("true")) {
            return true;
        }
        throw new BadRequestException("check", "check must be true or false");
    }

    /**
     * A connection to a database of the local server; 404 {@code database_not_found} when it does not exist, so
     * a typo in the database name is not reported as PostgreSQL being down.
     */
    public static Connection open(PgConnector connector, String database, Duration timeout, boolean readOnly) {
        try {
            return connector.open(database, timeout, readOnly);
        } catch (PostgresUnavailableException e) {
            if (e.getCause() instanceof SQLException s && "3D000".equals(s.getSQLState())) {
                throw ApiException.notFound("database_not_found", "database " + database
                        + " does not exist on this server; check the name (it is case-sensitive)");
            }
            throw e;
        }
    }
}
