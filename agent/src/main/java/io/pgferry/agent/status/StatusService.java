package io.pgferry.agent.status;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.replicationrole.RowSecurity;
import io.pgferry.agent.syncstatus.SubscriptionStats;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reads the migration's objects from the catalogs; changes nothing, and needs no state of its own. */
public final class StatusService {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Cluster-wide facts, read from the agent's own database so a missing target database is no error. */
    private static final String CLUSTER = """
            SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?),
                   EXISTS (SELECT 1 FROM pg_database WHERE datname = ?),
                   CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END""";
    private static final String SLOT = """
            SELECT database, active, wal_status, confirmed_flush_lsn::text,
                   CASE WHEN pg_is_in_recovery() THEN NULL
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint END
            FROM pg_replication_slots WHERE slot_name = ?""";
    private static final String PUBLICATION_TABLES = """
            SELECT n.nspname, c.relname
            FROM pg_publication p JOIN pg_publication_rel pr ON pr.prpubid = p.oid
            JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE p.pubname = ? ORDER BY 1, 2""";
    private static final String SUBSCRIPTION = """
            SELECT s.subenabled, r.srsubstate, count(r.srrelid), s.oid
            FROM pg_subscription s LEFT JOIN pg_subscription_rel r ON r.srsubid = s.oid
            WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            GROUP BY 1, 2, 4""";
    private static final String USER_TABLES = """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')""";

    private final PgConnector connector;

    public StatusService(PgConnector connector) {
        this.connector = connector;
    }

    public MigrationStatus status(MigrationId migration, String database) {
        String name = migration.objectName();
        try {
            boolean roleExists;
            boolean databaseExists;
            String walLsn;
            MigrationStatus.Slot slot;
            try (Connection c = connector.open(connector.config().database(), TIMEOUT, true)) {
                try (PreparedStatement st = c.prepareStatement(CLUSTER)) {
                    st.setString(1, name);
                    st.setString(2, database);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        roleExists = rs.getBoolean(1);
                        databaseExists = rs.getBoolean(2);
                        walLsn = rs.getString(3);
                    }
                }
                slot = slot(c, name);
            }
            MigrationStatus.Publication publication = new MigrationStatus.Publication(name, false, List.of());
            MigrationStatus.Subscription subscription = new MigrationStatus.Subscription(name, false, null, null,
                    null, null, null);
            MigrationStatus.Tables tables = null;
            List<TableRef> copyPolicies = List.of();
            if (databaseExists) {
                try (Connection c = connector.open(database, TIMEOUT, true)) {
                    publication = publication(c, name);
                    subscription = subscription(c, name, connector.serverVersion(c).major());
                    tables = new MigrationStatus.Tables(count(c));
                    copyPolicies = RowSecurity.copyPolicies(c, name);
                }
            }
            return new MigrationStatus(new MigrationStatus.Role(name, roleExists, copyPolicies), publication, slot,
                    walLsn,
                    new MigrationStatus.Database(database, databaseExists), tables, subscription,
                    phase(databaseExists, tables, publication, slot, subscription));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** The target's view wins when this server has the subscription; then the source's; then what exists. */
    static String phase(boolean databaseExists, MigrationStatus.Tables tables, MigrationStatus.Publication pub,
                        MigrationStatus.Slot slot, MigrationStatus.Subscription sub) {
        if (sub.exists()) {
            if (!sub.enabled() || sub.total() == 0) {
                return "subscribed";
            }
            return sub.ready().equals(sub.total()) ? "streaming" : "copying";
        }
        if (pub.exists()) {
            return slot.exists() && Boolean.TRUE.equals(slot.active()) ? "replicating" : "published";
        }
        if (tables != null && tables.present() > 0) {
            return "schema";
        }
        return databaseExists ? "database" : "none";
    }

    private static MigrationStatus.Slot slot(Connection c, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(SLOT)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return new MigrationStatus.Slot(name, false, null, null, null, null, null);
                }
                Long lag = (Long) rs.getObject(5);
                return new MigrationStatus.Slot(name, true, rs.getString(1), rs.getBoolean(2),
                        lag == null ? null : Math.max(0, lag), rs.getString(3), rs.getString(4));
            }
        }
    }

    private static MigrationStatus.Publication publication(Connection c, String name) throws SQLException {
        boolean exists;
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                exists = rs.next();
            }
        }
        List<TableRef> tables = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(PUBLICATION_TABLES)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return new MigrationStatus.Publication(name, exists, tables);
    }

    private static MigrationStatus.Subscription subscription(Connection c, String name, int major)
            throws SQLException {
        Boolean enabled = null;
        Map<String, Integer> states = new TreeMap<>();
        int total = 0;
        long oid = 0;
        try (PreparedStatement st = c.prepareStatement(SUBSCRIPTION)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    enabled = rs.getBoolean(1);
                    oid = rs.getLong(4);
                    String state = rs.getString(2);
                    if (state != null) {
                        int n = rs.getInt(3);
                        states.merge(stateName(state), n, Integer::sum);
                        total += n;
                    }
                }
            }
        }
        if (enabled == null) {
            return new MigrationStatus.Subscription(name, false, null, null, null, null, null);
        }
        return new MigrationStatus.Subscription(name, true, enabled, total, states.getOrDefault("ready", 0), states,
                SubscriptionStats.read(c, oid, major));
    }

    private static String stateName(String state) {
        return switch (state) {
            case "i" -> "initialize";
            case "d" -> "data_copy";
            case "f" -> "finished_copy";
            case "s" -> "synchronized";
            case "r" -> "ready";
            default -> "unknown";
        };
    }

    private static int count(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(USER_TABLES); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
