package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;

/** The path and query parameters every migration-step handler reads the same way. */
public final class Params {
    private Params() {
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
}
