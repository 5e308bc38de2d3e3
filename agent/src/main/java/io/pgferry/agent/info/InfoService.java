package io.pgferry.agent.info;

import io.pgferry.agent.AgentVersion;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.postgres.PgToolsException;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.database.DatabaseLocale;
import io.pgferry.agent.postgres.ServerVersion;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class InfoService {
    /**
     * Settings that decide whether logical replication can run, and how much WAL its slots may hold
     * (max_slot_wal_keep_size, in MB as pg_settings gives it; -1 without a bound); rds.* exists only on Amazon RDS.
     */
    static final List<String> SETTINGS = List.of("wal_level", "max_replication_slots", "max_wal_senders",
            "max_worker_processes", "max_logical_replication_workers", "max_sync_workers_per_subscription",
            "max_active_replication_origins", "max_slot_wal_keep_size", "rds.logical_replication");
    /** pg_database_size walks every file of every database; a big cluster needs time. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(30);

    private final PgConnector connector;
    private final PgToolsCache tools;

    public InfoService(PgConnector connector, PgToolsCache tools) {
        this.connector = connector;
        this.tools = tools;
    }

    public AgentInfo info() {
        try (Connection c = connector.open(QUERY_TIMEOUT)) {
            ServerVersion version = connector.serverVersion(c);
            Map<String, String> settings = settings(c);
            List<DatabaseInfo> databases = databases(c, version.major());
            PgTools pg = null;
            String toolsError = null;
            try {
                pg = tools.tools(version.major());
            } catch (PgToolsException e) {
                toolsError = e.getMessage();
            }
            WalDisk walDisk = null;
            String walDiskError;
            try {
                walDisk = walDisk(c);
                walDiskError = null;
            } catch (WalDiskUnknown e) {
                walDiskError = e.getMessage();
            }
            return new AgentInfo(AgentVersion.get(), version.version(), version.versionNum(), version.major(),
                    settings, databases, pg == null ? null : pg.binDir().toString(),
                    pg == null ? null : pg.source(), pg == null ? null : pg.pgDumpVersion(), toolsError, walDisk,
                    walDiskError, ReplicationInUse.read(c));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }


    /** Why the WAL's disk is not reported. */
    static final class WalDiskUnknown extends Exception {
        WalDiskUnknown(String message) {
            super(message, null, false, false);
        }
    }

    /** The WAL directory's filesystem, when the server says where its data directory is and this host can see it. */
    static WalDisk walDisk(Connection c) throws SQLException, WalDiskUnknown {
        String dataDirectory;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'data_directory'")) {
            dataDirectory = rs.next() ? rs.getString(1) : null;
        }
        if (dataDirectory == null || dataDirectory.isBlank()) {
            throw new WalDiskUnknown("the agent's role may not read data_directory (it needs pg_read_all_settings)");
        }
        Path wal = Path.of(dataDirectory, "pg_wal");
        try {
            Path real = wal.toRealPath();
            FileStore store = Files.getFileStore(real);
            return new WalDisk(real.toString(), store.getUsableSpace(), store.getTotalSpace());
        } catch (IOException | SecurityException e) {
            throw new WalDiskUnknown(wal + " cannot be read from this host (" + e.getClass().getSimpleName()
                    + "): the agent runs on another host, or its OS user may not enter the data directory");
        }
    }

    private static Map<String, String> settings(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY (?)")) {
            Array names = c.createArrayOf("text", SETTINGS.toArray());
            ps.setArray(1, names);
            Map<String, String> found = new LinkedHashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.put(rs.getString(1), rs.getString(2));
                }
            }
            for (String name : SETTINGS) {
                if (found.containsKey(name)) {
                    out.put(name, found.get(name));
                }
            }
        }
        return out;
    }

    private static List<DatabaseInfo> databases(Connection c, int major) throws SQLException {
        List<DatabaseInfo> out = new ArrayList<>();
        String sql = """
                SELECT d.datname,
                       CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END,
                       pg_get_userbyid(d.datdba), %s
                  FROM pg_catalog.pg_database d
                 WHERE NOT d.datistemplate
                 ORDER BY d.datname""".formatted(DatabaseLocale.columns(major));
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                long size = rs.getLong(2);
                Long sizeBytes = rs.wasNull() ? null : size;
                DatabaseLocale locale = DatabaseLocale.from(rs, 4);
                out.add(new DatabaseInfo(rs.getString(1), sizeBytes, locale.encoding(), locale.lcCollate(),
                        locale.lcCtype(), rs.getString(3), locale.localeProvider(), locale.locale(), locale.icuRules()));
            }
        }
        return out;
    }
}
