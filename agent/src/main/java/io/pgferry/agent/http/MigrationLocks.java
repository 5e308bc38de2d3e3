package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One mutating request per migration at a time. Two calls that change the same migration's objects at once (a
 * retry racing the original, two playbooks on one migration) could interleave their read-then-change steps;
 * the second is refused with 409 {@code operation_in_progress} instead, and retries once the first answered.
 * Reads are never blocked, nor are the read-only checks sent as POST, and the job-starting POSTs are left to the
 * {@code JobRunner}, which lets an identical retry attach to its running job.
 */
final class MigrationLocks {
    private static final Pattern MIGRATION_PATH = Pattern.compile("^/v1/migrations/([^/]+)/([^/?]+)");
    private static final Set<HandlerType> MUTATING = Set.of(HandlerType.PUT, HandlerType.POST, HandlerType.DELETE,
            HandlerType.PATCH);
    /**
     * POSTs that take no lock: the job steps (their POST returns at once and the runner serializes them itself) and
     * the checks and waits that only read (preflight, ready-check, catch-up, verify, row-counts), which may take long
     * and must not block each other.
     */
    private static final Set<String> UNLOCKED_POSTS = Set.of("schema-apply", "post-data", "copy", "preflight",
            "ready-check", "catch-up", "verify", "row-counts");
    private static final String HELD = MigrationLocks.class.getName();

    /** migration id to "METHOD path" of the request that holds it. */
    private final Map<String, String> held = new ConcurrentHashMap<>();

    void acquire(Context ctx) {
        if (!MUTATING.contains(ctx.method())) {
            return;
        }
        Matcher m = MIGRATION_PATH.matcher(ctx.path());
        if (!m.find() || (ctx.method() == HandlerType.POST && UNLOCKED_POSTS.contains(m.group(2)))) {
            return;
        }
        String migration = m.group(1);
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
