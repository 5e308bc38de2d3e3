package io.pgferry.agent.orphans;

import io.pgferry.agent.fence.FenceService;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What pgferry made on this server and may have left behind: slots named {@code pgferry_*} (an inactive one has
 * no subscriber and holds WAL without limit), publications, subscriptions, fences and copy policies (row-level
 * security) in every database, and roles named {@code pgferry_*}.
 */
public final class OrphansService {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final String PREFIX = "pgferry\\_%";
    private static final String POLICIES = "SELECT '\"' || replace(n.nspname, '\"', '\"\"') || '\".\"' "
            + "|| replace(c.relname, '\"', '\"\"') || '\"', p.polname FROM pg_policy p "
            + "JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE p.polname LIKE '" + PREFIX + "' ORDER BY 1, 2";

    /** @param orphan inactive: no subscriber is connected */
    public record Slot(String name, String database, boolean active, boolean orphan, Long retainedBytes) {
    }

    public record Named(String database, String name) {
    }

    /** A copy policy (row-level security) of a migration: while it stands, that role reads every row of the table. */
    public record Policy(String database, String table, String name) {
    }

    /** @param unreadable databases the agent could not connect to */
    public record Report(List<Slot> slots, List<Named> publications, List<Named> subscriptions, List<String> roles,
                         List<String> fenced, List<Policy> policies, List<String> unreadable, int orphans) {
    }

    private final PgConnector connector;

    public OrphansService(PgConnector connector) {
        this.connector = connector;
    }

    public Report report() {
        List<Slot> slots = new ArrayList<>();
        List<String> roles = new ArrayList<>();
        List<String> databases = new ArrayList<>();
        try (Connection c = connector.open(TIMEOUT); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT slot_name, database, active, "
                    + "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                    + "WHERE slot_name LIKE '" + PREFIX + "' ORDER BY 1")) {
                while (rs.next()) {
                    slots.add(new Slot(rs.getString(1), rs.getString(2), rs.getBoolean(3), !rs.getBoolean(3),
                            (Long) rs.getObject(4)));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT rolname FROM pg_roles WHERE rolname LIKE '" + PREFIX
                    + "' AND rolname <> current_user ORDER BY 1")) {
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT datname FROM pg_database WHERE datallowconn "
                    + "AND NOT datistemplate ORDER BY 1")) {
                while (rs.next()) {
                    databases.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        List<Named> publications = new ArrayList<>();
        List<Named> subscriptions = new ArrayList<>();
        List<String> fenced = new ArrayList<>();
        List<Policy> policies = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        for (String db : databases) {
            try (Connection c = connector.open(db, TIMEOUT, true)) {
                collect(c, db, "SELECT pubname FROM pg_publication WHERE pubname LIKE '" + PREFIX + "' ORDER BY 1",
                        publications);
                collect(c, db, "SELECT subname FROM pg_subscription WHERE subname LIKE '" + PREFIX + "' AND "
                        + "subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1",
                        subscriptions);
                if (FenceService.fenced(c, db)) {
                    fenced.add(db);
                }
                try (PreparedStatement ps = c.prepareStatement(POLICIES); ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        policies.add(new Policy(db, rs.getString(1), rs.getString(2)));
                    }
                }
            } catch (SQLException | PostgresUnavailableException e) {
                unreadable.add(db);
            }
        }
        int orphans = (int) slots.stream().filter(Slot::orphan).count();
        return new Report(slots, publications, subscriptions, roles, fenced, policies, unreadable, orphans);
    }

    private static void collect(Connection c, String db, String sql, List<Named> into) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                into.add(new Named(db, rs.getString(1)));
            }
        }
    }
}
