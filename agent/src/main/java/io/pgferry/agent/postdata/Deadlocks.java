package io.pgferry.agent.postdata;

import io.pgferry.agent.postgres.PostgresException;
import io.pgferry.agent.problem.ApiException;
import java.sql.SQLException;

/**
 * Post-data runs while the subscription applies the source's writes. A foreign key or trigger added to a table while
 * the apply worker runs a transaction that writes the referenced table and then that table takes the two locks in
 * the other order, and PostgreSQL ends one of the two ("deadlock detected", SQLSTATE 40P01). The apply worker starts
 * again on its own; post-data tries again what is still missing, a few times, before it fails.
 *
 * <p>pg_restore reports the server's message, not its SQLSTATE: a server whose {@code lc_messages} is not English is
 * not recognized, and the job fails as before (a rerun restores what is missing).
 */
final class Deadlocks {
    static final int ATTEMPTS = 4;

    private Deadlocks() {
    }

    static boolean in(ApiException e) {
        return e.getMessage() != null && e.getMessage().contains("deadlock detected");
    }

    static boolean in(SQLException e) {
        return "40P01".equals(e.getSQLState());
    }

    /** Lets the apply worker's transaction end before the next attempt: 0.5, 1, 2 s. */
    static void pause(int attempt) {
        try {
            Thread.sleep(250L << attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PostgresException.shuttingDown(e);  // as an interrupted pg_restore is reported
        }
    }
}
