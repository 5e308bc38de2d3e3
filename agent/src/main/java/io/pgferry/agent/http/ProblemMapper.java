package io.pgferry.agent.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where exceptions become HTTP answers. Only {@link ApiException} details reach the client;
 * anything else is logged here (by class and stack, whose messages come from our code or the driver, never
 * from secrets) and answered with a generic 500.
 */
final class ProblemMapper {
    static final String PROBLEM_JSON = "application/problem+json";
    private static final Logger LOG = LoggerFactory.getLogger(ProblemMapper.class);

    private ProblemMapper() {
    }

    static void register(RoutesConfig routes) {
        routes.exception(ApiException.class, (e, ctx) -> {
            if (e.status() >= 500) {
                LOG.warn("{} {}: {} ({})", ctx.method(), ctx.path(), e.getMessage(), causeOf(e));
            }
            if (e instanceof UnauthorizedException) {
                ctx.header("WWW-Authenticate", "Bearer");
            }
            write(ctx, Problem.of(e));
        });
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

    static void write(Context ctx, Problem problem) {
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
