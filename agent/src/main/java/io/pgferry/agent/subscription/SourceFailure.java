package io.pgferry.agent.subscription;

import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.problem.ApiException;
import java.sql.SQLException;
import java.util.List;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Failures the target reports about the source. CREATE, ALTER and DROP SUBSCRIPTION make the target connect to
 * the source; when that fails the target answers with SQLSTATE class 08, which the agent must not mistake for
 * its own PostgreSQL being unavailable. The target's message (libpq's, e.g. "password authentication failed")
 * is what lets the operator fix it, so it is passed on, with the password masked should it ever appear.
 */
final class SourceFailure {
    private SourceFailure() {
    }

    /** The server's own message when the server (not the driver) reported the error, else null. */
    static String serverMessage(SQLException e, String password) {
        if (e instanceof PSQLException p) {
            ServerErrorMessage m = p.getServerErrorMessage();
            if (m != null && m.getMessage() != null) {
                String text = m.getMessage();
                return password == null ? text : text.replace(password, StepResult.MASK);
            }
        }
        return null;
    }

    /** 502 {@code source_unreachable} when the target could not work with the source; null otherwise. */
    static ApiException unreachable(SQLException e, String password, String fix) {
        String message = serverMessage(e, password);
        String state = e.getSQLState();
        if (message == null || state == null || !state.startsWith("08")) {
            return null;
        }
        return new ApiException(502, "source_unreachable", "The target could not use the source",
                "the target PostgreSQL failed talking to the source: " + message + "; " + fix, null, List.of(), e);
    }
}
