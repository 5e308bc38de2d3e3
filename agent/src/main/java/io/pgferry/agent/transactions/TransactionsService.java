package io.pgferry.agent.transactions;

import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.postgres.PgConnector;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the client transactions open on a database, for the cutover to see before it pauses anyone: through
 * PgBouncer such a transaction holds {@code PAUSE} (every other client queues behind it), and the fence would end it.
 * pg_stat_activity is cluster-wide, so the agent's own database is asked: a fenced or busy database needs no
 * connection of its own. The agent's sessions (a snapshot held for verify) are not clients; walsenders and workers
 * neither. Query texts are left out: they hold application data.
 */
public final class TransactionsService {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String OPEN = """
            SELECT pid, coalesce(usename, ''), coalesce(application_name, ''),
                   CASE WHEN client_addr IS NULL THEN 'local' ELSE host(client_addr) || ':' || client_port END,
                   coalesce(state, ''), extract(epoch FROM clock_timestamp() - xact_start)::float8
            FROM pg_catalog.pg_stat_activity
            WHERE datname = ? AND backend_type = 'client backend' AND pid <> pg_backend_pid()
              AND coalesce(application_name, '') <> 'pgferry-agent' AND xact_start IS NOT NULL
            ORDER BY xact_start, pid""";
    /** Sessions of other roles show a NULL state to a role without pg_read_all_stats. */
    private static final String HIDDEN = """
            SELECT count(*) FROM pg_catalog.pg_stat_activity
            WHERE datname = ? AND backend_type = 'client backend' AND state IS NULL""";

    private final PgConnector connector;

    public TransactionsService(PgConnector connector) {
        this.connector = connector;
    }

    public Transactions open(String database) {
        DatabaseCheck.require(connector, database);
        try (Connection c = connector.open(TIMEOUT)) {
            List<OpenTransaction> open = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(OPEN)) {
                ps.setString(1, database);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        open.add(new OpenTransaction(rs.getInt(1), rs.getString(2), rs.getString(3),
                                rs.getString(4), rs.getString(5), Math.max(0, rs.getDouble(6))));
                    }
                }
            }
            int hidden;
            try (PreparedStatement ps = c.prepareStatement(HIDDEN)) {
                ps.setString(1, database);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    hidden = rs.getInt(1);
                }
            }
            return new Transactions(database, open, hidden);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
