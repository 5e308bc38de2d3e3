package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import io.javalin.router.ParsedEndpoint;
import io.javalin.security.Roles;
import io.pgferry.agent.config.Secret;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The one place that decides what a request may do, from the {@link Access} its route declares: whether it needs
 * the token ({@link BearerAuth}), takes one of the request slots ({@link RequestSlots}), must hold its migration's
 * lease when another run took one ({@link MigrationLeases}) and takes its migration's lock ({@link MigrationLocks}). A request that matches no route needs the token, so that an unknown path tells a
 * caller without it nothing about the API, unless every route of its path is public (a wrong method on
 * {@code /v1/health} is a 405 for anyone); it takes no lock.
 */
final class RouteAccess {
    private static final Set<HandlerType> NOT_ROUTES = Set.of(HandlerType.HEAD, HandlerType.OPTIONS);

    private final BearerAuth auth;
    private final RequestSlots slots = new RequestSlots();
    private final MigrationLocks locks = new MigrationLocks();
    private final MigrationLeases leases = new MigrationLeases();
    /** The server's routes, set once it is configured and before it serves a request. */
    private volatile List<ParsedEndpoint> routes = List.of();

    RouteAccess(Secret token) {
        this.auth = new BearerAuth(token);
    }

    /**
     * The routes of the configured server.
     *
     * @throws IllegalStateException naming every route that declares no {@link Access}, or more than one, and every
     *                               {@link Access#CHANGE} route without the {@code {m}} its lock is taken on
     */
    void routes(List<ParsedEndpoint> all) {
        List<ParsedEndpoint> served = all.stream().filter(r -> r.endpoint.method.isHttpMethod()
                && !NOT_ROUTES.contains(r.endpoint.method)).toList();
        List<String> faults = new ArrayList<>();
        for (ParsedEndpoint r : served) {
            Endpoint e = r.endpoint;
            Roles roles = e.metadata(Roles.class);
            long declared = roles == null ? 0 : roles.getRoles().stream().filter(Access.class::isInstance).count();
            if (declared != 1) {
                faults.add(e.method + " " + e.path + " declares " + declared + " Access (one is needed)");
            } else if (access(e).takesLock() && !e.path.contains("{m}")) {
                faults.add(e.method + " " + e.path + " takes the migration lock but has no {m}");
            }
        }
        if (!faults.isEmpty()) {
            throw new IllegalStateException("routes without a proper Access: " + String.join("; ", faults));
        }
        routes = served;
    }

    void before(Context ctx) {
        String path = ctx.path();
        Optional<ParsedEndpoint> route = routes.stream()
                .filter(r -> r.endpoint.method.equals(ctx.method()) && r.matches(path)).findFirst();
        Access access = route.map(r -> access(r.endpoint)).orElseGet(() -> unmatched(path));
        auth.check(ctx, access.needsToken());
        if (access == Access.PUBLIC) {
            return;
        }
        slots.acquire(ctx);
        String migration = route.map(r -> r.extractPathParams(path).get("m")).orElse(null);
        if (access.heedsLease() && migration != null) {
            leases.check(ctx, migration);
        }
        if (access.takesLock()) {
            locks.acquire(ctx, migration);
        }
    }

    MigrationLeases leases() {
        return leases;
    }

    void after(Context ctx) {
        locks.release(ctx);
        slots.release(ctx);
    }

    private Access unmatched(String path) {
        List<ParsedEndpoint> same = routes.stream().filter(r -> r.matches(path)).toList();
        return !same.isEmpty() && same.stream().allMatch(r -> access(r.endpoint) == Access.PUBLIC) ? Access.PUBLIC
                : Access.READ;
    }

    private static Access access(Endpoint e) {
        return e.metadata(Roles.class).getRoles().stream().filter(Access.class::isInstance).map(Access.class::cast)
                .findFirst().orElseThrow();
    }
}
