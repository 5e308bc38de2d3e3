package io.pgferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgferry.agent.config.PostgresConfig;
import io.pgferry.agent.http.ProblemMapper;
import io.pgferry.agent.problem.Problem;
import java.sql.SQLException;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The database layer's failures, which know nothing of HTTP, are answered with the problem documents of
 * docs/errors.md: the same status, code, title and detail for every kind. No PostgreSQL needed.
 */
class PostgresProblemsTest {
    private static final PgConnector CONNECTOR = new PgConnector(new PostgresConfig("127.0.0.1", 5432, "agent",
            Optional.empty(), Optional.empty(), "postgres"));
    private static final String WHERE = "cannot query PostgreSQL at 127.0.0.1:5432 as agent";

    @Test
    void everyKindIsAnsweredAsDocumented() {
        Set<PostgresException.Kind> seen = EnumSet.noneOf(PostgresException.Kind.class);
        assertProblem(seen, CONNECTOR.translate(new SQLException("driver text", "08006")), 503,
                "postgres_unavailable", "PostgreSQL unavailable", WHERE + " (SQLSTATE 08006)");
        assertProblem(seen, CONNECTOR.translate(new SQLException("driver text", "42501")), 502, "postgres_error",
                "PostgreSQL rejected a query", WHERE + " (SQLSTATE 42501)");
        assertProblem(seen, CONNECTOR.translate(new SQLException("driver text", "25006")), 409,
                "database_read_only", "Conflict", "PostgreSQL refused a write because the database is read-only: it "
                        + "is fenced (default_transaction_read_only = on, see GET .../fence) or the server is a "
                        + "standby; lift the fence (DELETE /v1/migrations/{m}/fence) or use the primary, then retry");
        assertProblem(seen, PostgresException.toolTimeout("pg_dump did not finish within 3600 s"), 504,
                "tool_timeout", "Timed out", "pg_dump did not finish within 3600 s");
        assertProblem(seen, PostgresException.toolFailed("could not run pg_restore; see the agent's log", null), 500,
                "tool_failed", "Internal Server Error", "could not run pg_restore; see the agent's log");
        Problem stillRunning = assertProblem(seen, PostgresException.toolStillRunning("sessions of an earlier run",
                List.of("pid 7")), 409, "tool_still_running", "Conflict", "sessions of an earlier run");
        assertEquals(List.of("pid 7"), stillRunning.objects());
        assertProblem(seen, PostgresException.shuttingDown(null), 503, "interrupted", "Service Unavailable",
                "the agent is shutting down");
        assertProblem(seen, new PostgresUnavailableException("PostgreSQL does not answer the agent", null), 503,
                "postgres_unavailable", "PostgreSQL unavailable", "PostgreSQL does not answer the agent");
        assertEquals(EnumSet.allOf(PostgresException.Kind.class), seen, "a kind without its answer pinned here");
    }

    private static Problem assertProblem(Set<PostgresException.Kind> seen, PostgresException e, int status,
                                         String code, String title, String detail) {
        seen.add(e.kind());
        Problem p = ProblemMapper.known(e).orElseThrow();
        assertEquals(status, p.status(), code);
        assertEquals(code, p.code());
        assertEquals("urn:pgferry:problem:" + code, p.type());
        assertEquals(title, p.title(), code);
        assertEquals(detail, p.detail(), code);
        assertNull(p.field(), code);
        if (e.objects().isEmpty()) {
            assertNull(p.objects(), code);
        }
        return p;
    }
}
