package io.pgferry.agent.lifecycle;

import io.pgferry.agent.fence.FenceService;
import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads {@link SideFacts}: a handful of catalog queries, no lock, nothing written, so every playbook can afford it
 * before each change.
 */
public final class LifecycleService {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Cluster-wide: read from the agent's own database, so a missing database is a fact, not an error. */
    private static final String CLUSTER = """
            SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?),
                   EXISTS (SELECT 1 FROM pg_database WHERE datname = ? AND datallowconn),
                   pg_size_bytes(current_setting('max_slot_wal_keep_size')),
                   CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END""";
    private static final String SLOT = """
            SELECT database, active, wal_status,
                   CASE WHEN pg_is_in_recovery() THEN NULL
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint END,
                   CASE WHEN pg_is_in_recovery() THEN NULL
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END,
                   safe_wal_size
            FROM pg_replication_slots WHERE slot_name = ?""";
    private static final String SUBSCRIPTION = """
            SELECT s.subenabled, r.srsubstate, count(r.srrelid),
                   (SELECT w.pid FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL
                    AND w.pid IS NOT NULL LIMIT 1)
            FROM pg_subscription s LEFT JOIN pg_subscription_rel r ON r.srsubid = s.oid
            WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            GROUP BY s.oid, s.subenabled, r.srsubstate""";
    private static final String USER_TABLES = """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')""";

    private final PgConnector connector;
    private final Path stateDir;

    public LifecycleService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    public SideFacts facts(MigrationId migration, String database) {
        String forward = Direction.FORWARD.objectName(migration);
        String reverse = Direction.REVERSE.objectName(migration);
        try {
            boolean role;
            boolean exists;
            SideFacts.Wal wal;
            SideFacts.Slot forwardSlot;
            SideFacts.Slot reverseSlot;
            try (Connection c = connector.open(connector.config().database(), TIMEOUT, true);
                 PreparedStatement st = c.prepareStatement(CLUSTER)) {
                st.setString(1, forward);
                st.setString(2, database);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    role = rs.getBoolean(1);
                    exists = rs.getBoolean(2);
                    wal = new SideFacts.Wal(rs.getLong(3), rs.getString(4));
                }
                forwardSlot = slot(c, forward);
                reverseSlot = slot(c, reverse);
            }
            boolean fenced = false;
            boolean forwardPub = false;
            boolean reversePub = false;
            SideFacts.Subscription forwardSub = SideFacts.Subscription.NONE;
            SideFacts.Subscription reverseSub = SideFacts.Subscription.NONE;
            int tables = 0;
            if (exists) {
                try (Connection c = connector.open(database, TIMEOUT, true)) {
                    fenced = FenceService.fenced(c, database);
                    forwardPub = publication(c, forward);
                    reversePub = publication(c, reverse);
                    forwardSub = subscription(c, forward);
                    reverseSub = subscription(c, reverse);
                    tables = count(c);
                }
            }
            ArchiveFiles files = new ArchiveFiles(stateDir, migration);
            SideFacts.State state = new SideFacts.State(files.manifest().isPresent()
                    && Files.isRegularFile(files.dump()), new ReplicaIdentityChanges(stateDir, migration).load());
            return new SideFacts(database, exists, role, fenced,
                    new SideFacts.Stream(forward, forwardPub, forwardSlot, forwardSub),
                    new SideFacts.Stream(reverse, reversePub, reverseSlot, reverseSub), tables, wal, state);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private static SideFacts.Slot slot(Connection c, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(SLOT)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return SideFacts.Slot.NONE;
                }
                Long lag = (Long) rs.getObject(4);
                return new SideFacts.Slot(true, rs.getString(1), rs.getBoolean(2), rs.getString(3),
                        lag == null ? null : Math.max(0, lag), (Long) rs.getObject(5), (Long) rs.getObject(6));
            }
        }
    }

    private static boolean publication(Connection c, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static SideFacts.Subscription subscription(Connection c, String name) throws SQLException {
        Boolean enabled = null;
        Integer pid = null;
        Map<String, Integer> states = new TreeMap<>();
        int total = 0;
        try (PreparedStatement st = c.prepareStatement(SUBSCRIPTION)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    enabled = rs.getBoolean(1);
                    pid = (Integer) rs.getObject(4);
                    if (rs.getString(2) != null) {
                        int n = rs.getInt(3);
                        states.merge(stateName(rs.getString(2)), n, Integer::sum);
                        total += n;
                    }
                }
            }
        }
        if (enabled == null) {
            return SideFacts.Subscription.NONE;
        }
        return new SideFacts.Subscription(true, enabled, pid, total, states.getOrDefault("ready", 0), states);
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
