package io.pgferry.agent.http;

import io.javalin.security.RouteRole;

/**
 * What a route asks of its caller, declared where the route is registered: {@code routes.put(PATH, this::put,
 * Access.CHANGE)}. Every route declares exactly one (the agent does not start otherwise); {@link RouteAccess} reads
 * it for every request.
 */
public enum Access implements RouteRole {
    /** No token, and outside the request slots: health, for load balancers and monitoring. */
    PUBLIC,
    /**
     * The token, no lock: reads, and the checks and waits that only read though sent as POST (preflight, ready-check,
     * catch-up, verify, row-counts), which may take long and must not block each other.
     */
    READ,
    /**
     * The token, no lock: a POST that starts a long step's job and returns at once; the JobRunner runs one job at a
     * time and lets an identical retry attach to the running one.
     */
    JOB,
    /**
     * The token and the migration's lock (the route's {@code {m}}): one change of a migration at a time, so a retry
     * racing the original or two playbooks on one migration cannot interleave their read-then-change steps; the
     * second is refused with 409 {@code operation_in_progress}.
     */
    CHANGE,
    /**
     * The token, no lock: takes, renews or gives back a run's lease on the migration ({@link MigrationLeases}); a
     * renewal must not wait behind the holder's own request in flight.
     */
    LEASE;

    boolean needsToken() {
        return this != PUBLIC;
    }

    boolean takesLock() {
        return this == CHANGE;
    }

    /** Changes something of the migration, so a lease held by another run refuses it. */
    boolean heedsLease() {
        return this == CHANGE || this == JOB;
    }
}
