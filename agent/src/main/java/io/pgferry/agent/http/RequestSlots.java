package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.problem.ApiException;
import java.util.concurrent.Semaphore;

/**
 * At most {@link #SLOTS} requests at a time on the token-protected routes ({@link RouteAccess}), so that whatever
 * they wait for (a body that trickles in, a lock, a long catch-up) they never take every thread of the server: the
 * rest stay free for {@code /v1/health} and for answering 401. One more request is refused at once with 503
 * {@code agent_busy} instead of queueing behind them.
 */
final class RequestSlots {
    /** A handful of local callers: the cutover's parallel calls use four at most. */
    static final int SLOTS = 8;
    private static final String HELD = RequestSlots.class.getName();

    private final Semaphore slots = new Semaphore(SLOTS);

    void acquire(Context ctx) {
        if (!slots.tryAcquire()) {
            ctx.header("Retry-After", "1");
            throw new ApiException(503, "agent_busy", "Service Unavailable", "the agent is already serving "
                    + SLOTS + " requests; retry when one of them has answered");
        }
        ctx.attribute(HELD, Boolean.TRUE);
    }

    void release(Context ctx) {
        if (Boolean.TRUE.equals(ctx.attribute(HELD))) {
            ctx.attribute(HELD, null);
            slots.release();
        }
    }
}
