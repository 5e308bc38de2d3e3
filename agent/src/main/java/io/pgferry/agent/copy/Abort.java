package io.pgferry.agent.copy;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.postgresql.PGConnection;

/**
 * The copy's threads stop together: the first failure is kept, and every session still busy is cancelled so a
 * thread blocked in a long COPY or index build returns at once instead of finishing work that will be thrown away.
 */
final class Abort {
    private final List<Connection> sessions = new CopyOnWriteArrayList<>();
    private volatile Exception first;

    void register(Connection c) {
        sessions.add(c);
    }

    void unregister(Connection c) {
        sessions.remove(c);
    }

    boolean aborted() {
        return first != null;
    }

    /** Records the failure (the first one wins) and cancels what the other sessions run. */
    void fail(Exception e) {
        synchronized (this) {
            if (first != null) {
                return;
            }
            first = e;
        }
        for (Connection c : sessions) {
            try {
                c.unwrap(PGConnection.class).cancelQuery();
            } catch (SQLException | RuntimeException ignored) {
                // a session that is gone has nothing left to cancel
            }
        }
    }

    /** @throws Exception the first failure, if any */
    void rethrow() throws Exception {
        if (first != null) {
            throw first;
        }
    }
}
