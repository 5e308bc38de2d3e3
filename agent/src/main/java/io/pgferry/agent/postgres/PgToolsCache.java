package io.pgferry.agent.postgres;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The client programs (pg_dump, pg_restore) for a server major, found by the {@link PgToolsResolver} once and kept:
 * what the steps that run them and {@code GET /v1/info} ask for.
 */
public final class PgToolsCache {
    private final PgToolsResolver resolver;
    // Keyed by server major: an in-place upgrade of the server while the agent runs gets a fresh check.
    private final Map<Integer, PgTools> tools = new ConcurrentHashMap<>();

    public PgToolsCache(PgToolsResolver resolver) {
        this.resolver = resolver;
    }

    /** Resolves once per server major and caches the answer; failures are not cached so a fix is seen. */
    public PgTools tools(int serverMajor) throws PgToolsException {
        PgTools known = tools.get(serverMajor);
        if (known != null) {
            return known;
        }
        PgTools found = resolver.resolve(serverMajor);
        tools.put(serverMajor, found);
        return found;
    }
}
