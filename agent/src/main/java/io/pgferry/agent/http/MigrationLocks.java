package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.problem.ApiException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One changing request per migration at a time (the routes that declare {@link Access#CHANGE}). Two calls that
 * change the same migration's objects at once could interleave their read-then-change steps; the second is refused
 * with 409 {@code operation_in_progress} instead, and retries once the first answered.
 */
final class MigrationLocks {
    private static final String HELD = MigrationLocks.class.getName();

    /** migration id to "METHOD path" of the request that holds it. */
    private final Map<String, String> held = new ConcurrentHashMap<>();

    void acquire(Context ctx, String migration) {
        String holder = ctx.method() + " " + ctx.path();
        String other = held.putIfAbsent(migration, holder);
        if (other != null) {
            throw ApiException.conflict("operation_in_progress", "another request changes migration " + migration
                    + " right now (" + other + "); wait for it to answer, then retry", List.of(other));
        }
        ctx.attribute(HELD, migration);
    }

    void release(Context ctx) {
        String migration = ctx.attribute(HELD);
        if (migration != null) {
            ctx.attribute(HELD, null);
            held.remove(migration);
        }
    }
}
