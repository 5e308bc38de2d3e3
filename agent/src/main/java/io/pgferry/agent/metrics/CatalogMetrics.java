package io.pgferry.agent.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What PostgreSQL knows about pgferry's objects, read from the catalogs at scrape time (never cached, so never
 * stale): slots and their lag on a publisher, subscriptions, their apply lag and their tables' copy state on a
 * subscriber, and fences this agent holds. Only objects named {@code pgferry_*} are read. A scrape is a handful of
 * catalog queries: one connection to the configured database, plus one per database holding a pgferry
 * subscription (at most {@link #MAX_DATABASES}), each with a short timeout.
 */
final class CatalogMetrics implements MultiCollector {
    static final int MAX_DATABASES = 64;
    private static final Logger LOG = LoggerFactory.getLogger(CatalogMetrics.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final String PREFIX = "pgferry_";
    private static final String SLOTS = """
            SELECT slot_name, coalesce(database, ''), active,
                   CASE WHEN pg_is_in_recovery() OR confirmed_flush_lsn IS NULL THEN NULL
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 END
            FROM pg_replication_slots WHERE slot_name LIKE 'pgferry\\_%'""";
    /** The publisher's view of each subscription's walsender: how far behind its replay is, in time. */
    private static final String SENDERS = """
            SELECT application_name, coalesce(extract(epoch FROM replay_lag)::float8, 0)
            FROM pg_stat_replication WHERE application_name LIKE 'pgferry\\_%'""";
    /** The apply worker is the row without a table; from 16 parallel apply workers add rows with a leader. */
    private static final String SUBSCRIPTIONS = """
            SELECT s.subname, d.datname, s.subenabled,
                   (SELECT extract(epoch FROM now() - coalesce(w.latest_end_time, w.last_msg_send_time))::float8
                    FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL
                    ORDER BY w.pid LIMIT 1)
            FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
            WHERE s.subname LIKE 'pgferry\\_%' ORDER BY 2, 1""";
    /** pg_subscription_rel is per database: read in each database that holds a pgferry subscription. */
    private static final String TABLES = """
            SELECT s.subname, n.nspname, c.relname, r.srsubstate,
                   p.bytes_processed, p.bytes_total, p.tuples_processed
            FROM pg_subscription s
            JOIN pg_subscription_rel r ON r.srsubid = s.oid
            JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_progress_copy p ON p.relid = r.srrelid AND p.datid = s.subdbid
            WHERE s.subname LIKE 'pgferry\\_%'
              AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""";
    private static final Map<String, String> TABLE_STATES = Map.of("i", "init", "d", "data_copy", "f", "finished",
            "s", "sync", "r", "ready");

    /** Every family, listed in each scrape even when empty, so dashboards and alerts can rely on the names. */
    static final Map<String, String> FAMILIES = orderedMap(
            "pgferry_postgres_up", "1 when the agent could read its PostgreSQL's catalogs for this scrape",
            "pgferry_catalog_scrape_duration_seconds", "Time this scrape spent reading the catalogs",
            "pgferry_slot_active", "1 when a subscriber is connected to the pgferry slot",
            "pgferry_slot_lag_bytes", "WAL bytes the slot's subscriber has not confirmed" + " (current WAL LSN minus confirmed_flush_lsn)",
            "pgferry_replication_replay_lag_seconds", "The publisher's replay_lag of the walsender of a" + " pgferry subscription",
            "pgferry_subscription_enabled", "1 when the pgferry subscription is enabled",
            "pgferry_subscription_worker_running", "1 when the subscription's apply worker runs",
            "pgferry_subscription_apply_lag_seconds", "Seconds since the apply worker last reported" + " the publisher's end LSN it has applied",
            "pgferry_table_copy_bytes", "Bytes copied so far of a table in its initial copy",
            "pgferry_table_size_bytes", "Size of a table in its initial copy, as COPY estimates it (0 when unknown)",
            "pgferry_table_copy_rows", "Rows copied so far of a table in its initial copy",
            "pgferry_tables", "Tables of a pgferry subscription by sync state" + " (init, data_copy, finished, sync, ready)",
            "pgferry_fence_active_seconds", "Seconds since this agent fenced a database (writes refused); absent when no fence is held");

    private final PgConnector connector;
    private final Path stateDir;

    CatalogMetrics(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    @Override
    public MetricSnapshots collect() {
        Gauges g = new Gauges();
        long started = System.nanoTime();
        boolean up = true;
        try (Connection c = connector.open(TIMEOUT)) {
            List<String> databases = new ArrayList<>();
            publisher(c, g);
            subscriber(c, g, databases);
            for (String db : databases.stream().distinct().limit(MAX_DATABASES).toList()) {
                tables(db, g);
            }
        } catch (PostgresUnavailableException e) {
            up = false;
        } catch (SQLException e) {
            LOG.warn("metrics: reading the catalogs failed: {}", connector.describe(e));
            up = false;
        }
        g.set("pgferry_postgres_up",
                up ? 1 : 0);
        fences(g);
        g.set("pgferry_catalog_scrape_duration_seconds",
                (System.nanoTime() - started) / 1e9);
        return g.snapshots();
    }

    private static void publisher(Connection c, Gauges g) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SLOTS)) {
            while (rs.next()) {
                Labels l = Labels.of("migration", migration(rs.getString(1)), "slot", rs.getString(1), "database",
                        rs.getString(2));
                g.set("pgferry_slot_active", l,
                        rs.getBoolean(3) ? 1 : 0);
                double lag = rs.getDouble(4);
                if (!rs.wasNull()) {
                    g.set("pgferry_slot_lag_bytes", l, lag);
                }
            }
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SENDERS)) {
            while (rs.next()) {
                g.set("pgferry_replication_replay_lag_seconds", Labels.of("migration", migration(rs.getString(1)),
                        "subscription", rs.getString(1)), rs.getDouble(2));
            }
        }
    }

    private static void subscriber(Connection c, Gauges g, List<String> databases) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SUBSCRIPTIONS)) {
            while (rs.next()) {
                String name = rs.getString(1);
                String db = rs.getString(2);
                databases.add(db);
                Labels l = Labels.of("migration", migration(name), "subscription", name, "database", db);
                g.set("pgferry_subscription_enabled", l,
                        rs.getBoolean(3) ? 1 : 0);
                double lag = rs.getDouble(4);
                g.set("pgferry_subscription_worker_running", l,
                        rs.wasNull() ? 0 : 1);
                if (!rs.wasNull()) {
                    g.set("pgferry_subscription_apply_lag_seconds", l, Math.max(0, lag));
                }
            }
        }
    }

    private void tables(String database, Gauges g) {
        Map<Labels, Integer> byState = new LinkedHashMap<>();
        try (Connection c = connector.open(database, TIMEOUT, true);
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(TABLES)) {
            while (rs.next()) {
                String sub = rs.getString(1);
                String state = TABLE_STATES.getOrDefault(rs.getString(4), rs.getString(4));
                byState.merge(Labels.of("migration", migration(sub), "database", database, "state", state), 1,
                        Integer::sum);
                long bytes = rs.getLong(5);
                if (rs.wasNull()) {
                    continue;
                }
                Labels t = Labels.of("migration", migration(sub), "database", database, "schema", rs.getString(2),
                        "table", rs.getString(3));
                g.set("pgferry_table_copy_bytes", t, bytes);
                g.set("pgferry_table_size_bytes", t,
                        rs.getLong(6));
                g.set("pgferry_table_copy_rows", t,
                        rs.getLong(7));
            }
        } catch (PostgresUnavailableException | SQLException e) {
            LOG.warn("metrics: reading the subscription tables of database {} failed", database);
            return;
        }
        byState.forEach((labels, n) -> g.set("pgferry_tables", labels, n));
    }

    /** Fences this agent holds now ({@code state_dir/{m}/fence-*.json}): how long writes have been paused. */
    private void fences(Gauges g) {
        if (!Files.isDirectory(stateDir)) {
            return;
        }
        try (DirectoryStream<Path> migrations = Files.newDirectoryStream(stateDir, Files::isDirectory)) {
            for (Path dir : migrations) {
                try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "fence-*.json")) {
                    for (Path f : files) {
                        JsonNode n = Json.MAPPER.readTree(f.toFile());
                        Instant at = Instant.parse(n.path("fenced_at").asText());
                        g.set("pgferry_fence_active_seconds", Labels.of("migration",
                                dir.getFileName().toString(), "database", n.path("database").asText()),
                                Duration.between(at, Instant.now()).toMillis() / 1000.0);
                    }
                }
            }
        } catch (IOException | DateTimeParseException e) {
            LOG.warn("metrics: reading the fence records in {} failed: {}", stateDir, e.toString());
        }
    }

    private static Map<String, String> orderedMap(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private static String migration(String objectName) {
        return objectName.startsWith(PREFIX) ? objectName.substring(PREFIX.length()) : objectName;
    }

    /** Gauge families built up during one scrape. */
    private static final class Gauges {
        private final Map<String, List<GaugeDataPointSnapshot>> points = new LinkedHashMap<>();

        Gauges() {
            FAMILIES.keySet().forEach(name -> points.put(name, new ArrayList<>()));
        }

        void set(String name, double value) {
            set(name, Labels.EMPTY, value);
        }

        void set(String name, Labels labels, double value) {
            points.get(name).add(GaugeDataPointSnapshot.builder().labels(labels).value(value).build());
        }

        MetricSnapshots snapshots() {
            List<MetricSnapshot> out = new ArrayList<>();
            points.forEach((name, list) -> {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(FAMILIES.get(name));
                list.forEach(b::dataPoint);
                out.add(b.build());
            });
            return new MetricSnapshots(out);
        }
    }
}
