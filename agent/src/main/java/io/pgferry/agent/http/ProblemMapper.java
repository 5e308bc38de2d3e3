package io.pgferry.agent.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.pgferry.agent.postgres.PostgresException;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.Problem;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where exceptions become HTTP answers, for requests and for the jobs they start ({@link #known}).
 * Only the details of {@link ApiException} and of the database layer's {@link PostgresException} reach the client;
 * anything else is logged here (by class and stack, whose messages come from our code or the driver, never
 * from secrets) and answered with a generic 500.
 */
public final class ProblemMapper {
    static final String PROBLEM_JSON = "application/problem+json";
    private static final Logger LOG = LoggerFactory.getLogger(ProblemMapper.class);

    private ProblemMapper() {
    }

    static void register(RoutesConfig routes) {
        routes.exception(ApiException.class, ProblemMapper::answer);
        routes.exception(PostgresException.class, ProblemMapper::answer);
        // Javalin's own answers: unknown route, wrong method, body too large, ...
        routes.exception(HttpResponseException.class, (e, ctx) -> {
            HttpStatus status = HttpStatus.forStatus(e.getStatus());
            String title = status.getMessage();
            write(ctx, Problem.of(e.getStatus(), codeFor(title), title, detailFor(e.getStatus(), ctx)));
        });
        routes.exception(Exception.class, (e, ctx) -> {
            LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
            write(ctx, Problem.of(500, "internal_error", "Internal Server Error",
                    "the agent failed to handle this request; see its log"));
        });
    }

    /** The problem a failure the agent knows is answered with; empty for anything else (a bug: 500). */
    public static Optional<Problem> known(Throwable e) {
        if (e instanceof ApiException api) {
            return Optional.of(Problem.of(api.status(), api.code(), api.title(), api.getMessage(), api.field(),
                    api.objects()));
        }
        if (e instanceof PostgresException pg) {
            return Optional.of(problem(pg));
        }
        return Optional.empty();
    }

    private static Problem problem(PostgresException e) {
        String detail = e.getMessage();
        return switch (e.kind()) {
            case UNAVAILABLE -> Problem.of(503, "postgres_unavailable", "PostgreSQL unavailable", detail);
            case QUERY_REFUSED -> Problem.of(502, "postgres_error", "PostgreSQL rejected a query", detail);
            case READ_ONLY -> Problem.of(409, "database_read_only", "Conflict", "PostgreSQL refused a write because "
                    + "the database is read-only: it is fenced (default_transaction_read_only = on, see GET .../fence) "
                    + "or the server is a standby; lift the fence (DELETE /v1/migrations/{m}/fence) or use the "
                    + "primary, then retry");
            case TOOL_TIMEOUT -> Problem.of(504, "tool_timeout", "Timed out", detail);
            case TOOL_FAILED -> Problem.of(500, "tool_failed", "Internal Server Error", detail);
            case TOOL_STILL_RUNNING -> Problem.of(409, "tool_still_running", "Conflict", detail, e.objects());
            case SHUTTING_DOWN -> Problem.of(503, "interrupted", "Service Unavailable", detail);
        };
    }

    private static void answer(Exception e, Context ctx) {
        Problem problem = known(e).orElseThrow();
        if (problem.status() >= 500) {
            LOG.warn("{} {}: {} ({})", ctx.method(), ctx.path(), e.getMessage(), causeOf(e));
        }
        if (e instanceof UnauthorizedException) {
            ctx.header("WWW-Authenticate", "Bearer");
        }
        write(ctx, problem);
    }

    static void write(Context ctx, Problem problem) {
        RequestBodies.drainUnread(ctx, problem.status());
        ctx.status(problem.status()).json(problem).contentType(PROBLEM_JSON);
    }

    private static String detailFor(int status, Context ctx) {
        return switch (status) {
            case 404 -> "no such resource: " + ctx.method() + " " + ctx.path();
            case 405 -> ctx.method() + " is not allowed on " + ctx.path();
            case 413 -> "the request body is larger than the agent accepts";
            default -> HttpStatus.forStatus(status).getMessage();
        };
    }

    static String codeFor(String title) {
        if (title.equals(HttpStatus.CONTENT_TOO_LARGE.getMessage())) {
            return "body_too_large"; // the code the upload routes use for the same thing
        }
        return title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_|_$", "");
    }

    private static String causeOf(Throwable e) {
        return e.getCause() == null ? "no cause" : e.getCause().getClass().getSimpleName();
    }
}
