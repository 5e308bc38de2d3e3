package io.pgferry.agent.migration;

import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Whether a database exists, asked of the agent's own database first: a connection to a missing database fails
 * like an unreachable server, and "does not exist" must be a 404, not a 503.
 */
public final class DatabaseCheck {
    private DatabaseCheck() {
    }

    /** @throws ApiException 404 {@code database_not_found} */
    public static String require(PgConnector connector, String database) {
        Names.require("database", database);
        try (Connection c = connector.open(Duration.ofSeconds(10));
             PreparedStatement ps = c.prepareStatement(
                     "SELECT 1 FROM pg_catalog.pg_database WHERE datname = ? AND datallowconn")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("database_not_found", "database " + database
                            + " does not exist on this server (or does not allow connections)");
                }
            }
            return database;
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
