package io.pgferry.agent.postgres;

import io.pgferry.agent.problem.ApiException;
import java.sql.SQLException;

/**
 * Post-data and privileges run on the target while the subscription applies the source's writes. A foreign key,
 * trigger or new owner that locks two tables while the apply worker's transaction writes the same two in the other
 * order deadlocks with it, and PostgreSQL ends one of the two ("deadlock detected", SQLSTATE 40P01). The apply worker
 * starts again on its own; the step tries again what is still missing, a few times, before it fails.
 *
 * <p>pg_restore reports the server's message, not its SQLSTATE: a server whose {@code lc_messages} is not English is
 * not recognized, and the job fails as before (a rerun restores what is missing).
 */
public final class Deadlocks {
    public static final int ATTEMPTS = 4;

    private Deadlocks() {
    }

    public static boolean in(ApiException e) {
        return e.getMessage() != null && e.getMessage().contains("deadlock detected");
    }

    public static boolean in(SQLException e) {
        return "40P01".equals(e.getSQLState());
    }

    /** Lets the apply worker's transaction end before the next attempt: 0.5, 1, 2 s. */
    public static void pause(int attempt) {
        try {
            Thread.sleep(250L << attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PostgresException.shuttingDown(e);  // as an interrupted pg_restore is reported
        }
    }
}
