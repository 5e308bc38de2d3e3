package io.pgferry.agent.http;

import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One line per request. Method, path (no query string), status and time only: headers and bodies may hold secrets. */
final class RequestLog {
    private static final Logger LOG = LoggerFactory.getLogger("io.pgferry.agent.http.access");

    private RequestLog() {
    }

    static void log(Context ctx, Float millis) {
        LOG.atInfo()
                .addKeyValue("method", ctx.method().name())
                .addKeyValue("path", ctx.path())
                .addKeyValue("status", ctx.statusCode())
                .addKeyValue("duration_ms", Math.round(millis))
                .log("request");
    }
}
