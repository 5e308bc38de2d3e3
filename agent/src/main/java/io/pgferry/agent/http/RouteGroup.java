package io.pgferry.agent.http;

import io.javalin.config.RoutesConfig;

/** A feature's routes, added to the server while it is configured (Javalin takes no routes after start). */
@FunctionalInterface
public interface RouteGroup {
    void register(RoutesConfig routes);
}
