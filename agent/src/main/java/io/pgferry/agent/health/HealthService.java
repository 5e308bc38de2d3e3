package io.pgferry.agent.health;

import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.pgferry.agent.postgres.ServerVersion;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

public final class HealthService {
    /** With the 2 s connect timeout this keeps a health check under about 5 s even against a hung server. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(3);

    private final PgConnector connector;

    public HealthService(PgConnector connector) {
        this.connector = connector;
    }

    /** @throws PostgresUnavailableException when SELECT 1 does not succeed in time */
    public HealthStatus check() {
        try (Connection c = connector.open(QUERY_TIMEOUT); Statement st = c.createStatement()) {
            st.setQueryTimeout((int) QUERY_TIMEOUT.toSeconds());
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
            }
            ServerVersion version = connector.serverVersion(c);
            return new HealthStatus("ok", "up", version.version());
        } catch (SQLException e) {
            // Whatever went wrong, the server did not answer a trivial query: it is unavailable to us.
            throw new PostgresUnavailableException(connector.describe(e), e);
        }
    }
}
