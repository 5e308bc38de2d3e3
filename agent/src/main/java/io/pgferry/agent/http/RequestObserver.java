package io.pgferry.agent.http;

import io.javalin.http.Context;

/** Told of every answered request and the time it took (metrics); must not throw. */
@FunctionalInterface
public interface RequestObserver {
    void answered(Context ctx, float millis);
}
