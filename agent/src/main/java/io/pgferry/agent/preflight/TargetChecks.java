package io.pgferry.agent.preflight;

import io.pgferry.agent.database.DatabaseLocale;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.OtherMigrations;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.replicationrole.AgentRights;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.subscription.Conninfo;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The target side's checks, on a read-only connection to the target database (or, before it exists, the agent's). */
final class TargetChecks {
    /** Free disk wanted beyond the source database's size: indexes are rebuilt, WAL is written during the copy. */
    static final double DISK_MARGIN = 1.2;

    /** pg_stat_activity rows that are not background workers, so do not use max_worker_processes. */
    private static final String NOT_BGWORKERS = "'client backend', 'autovacuum launcher', 'autovacuum worker', "
            + "'background writer', 'checkpointer', 'walwriter', 'walreceiver', 'walsender', 'startup', "
            + "'archiver', 'standalone backend', 'io worker', 'walsummarizer', 'slotsync worker', 'logger'";
    private static final String OUR_WORKER_PIDS = "SELECT ss.pid FROM pg_stat_subscription ss "
            + "JOIN pg_subscription s ON s.oid = ss.subid WHERE s.subname = ? AND ss.pid IS NOT NULL";

    private final Connection c;
    private final MigrationId migration;
    private final String name;
    private final PreflightRequest request;
    private final Findings out;
    private final boolean databaseExists;
    private final boolean localServer;
    private final String databaseRead;
    /** A copy of this migration (the copy step) started into this database and did not finish. */
    private boolean copyStarted;

    TargetChecks(Connection c, MigrationId migration, PreflightRequest request, Findings out, boolean databaseExists,
                 boolean localServer, String databaseRead) {
        this.c = c;
        this.migration = migration;
        this.name = migration.objectName();
        this.request = request;
        this.out = out;
        this.databaseExists = databaseExists;
        this.localServer = localServer;
        this.databaseRead = databaseRead;
    }

    /** Rows in the scope's tables are that copy's own, to be emptied and copied again: a warning, not an error. */
    TargetChecks copyStarted(boolean started) {
        copyStarted = started;
        return this;
    }

    void run(ServerVersion version) throws SQLException {
        if (version.major() < SourceChecks.MIN_MAJOR) {
            out.error("unsupported_version", List.of(version.version()), "the target runs PostgreSQL "
                    + version.version() + "; pgferry needs " + SourceChecks.MIN_MAJOR + " or newer on both sides",
                    "use a target of PostgreSQL " + SourceChecks.MIN_MAJOR + " or newer");
            return;
        }
        Catalog.primary(c, "target", out);
        subscriptionRights(version.major());
        older(version);
        locale(version.major());
        extensions();
        Long subscription = subscription();
        otherMigrations();
        Map<String, String> s = Catalog.settings(c, "max_logical_replication_workers",
                "max_sync_workers_per_subscription", "max_worker_processes", "data_directory",
                "wal_retrieve_retry_interval");
        workers(s);
        launcherPace(version, s);
        if (databaseExists) {
            tablesNotEmpty(subscription);
        } else {
            out.note("database " + request.database() + " does not exist on the target yet (the database step "
                    + "creates it), so there are no tables to find data in");
        }
        disk(s.get("data_directory"));
        List<String> missing = OutsideDependencies.missing(c, request.sourceOutsideDependencies(), databaseExists);
        if (!missing.isEmpty()) {
            out.error("outside_dependencies_missing", missing, "these objects of the source's scope need objects "
                    + "outside it, which the schema archive does not carry and the target database "
                    + (databaseExists ? "lacks" : "cannot have yet (it does not exist)") + ": the schema apply would "
                    + "fail half way through the migration's first changes", "include their schema or table in the "
                    + "scope; or create them in the target database first (then rerun the preflight); or remove the "
                    + "dependency on the source");
        }
        new TargetRoleChecks(c, request, out).run(version.major());
        if (request.connection() == null) {
            out.note("no connection given: the path from the target to the source was not tried");
        } else {
            new SourceProbe(request.connection(), name, request.replicationRoleExists(), out)
                    .run(c, databaseRead);
        }
    }

    /** One database is the target of one migration ({@link OtherMigrations}). */
    private void otherMigrations() throws SQLException {
        List<String> others = OtherMigrations.subscribing(c, migration, request.database());
        if (!others.isEmpty()) {
            out.error(OtherMigrations.CODE, others, "database " + request.database() + " on the target already "
                    + "receives another pgferry migration (subscription " + String.join(", ", others) + "): one "
                    + "database is the target of one migration, since its cutover, rollback and verify take the "
                    + "database whole", "migrate into another database; or finish that migration first (cutover, "
                    + "cleanup); a leftover: clean it up (pgferry.migrate.cleanup with its id)");
        }
    }

    private void older(ServerVersion version) {
        Integer source = request.sourceMajor();
        if (source == null) {
            out.note("source_major not given: the target's version was not compared with the source's");
            return;
        }
        if (version.major() < source) {
            out.add("target_older_than_source", !request.allowOlderTarget(), List.of("source " + source,
                    "target " + version.major()), "the target runs PostgreSQL " + version.major() + ", older than "
                    + "the source's " + source + (request.allowOlderTarget() ? "; allowed (allow_older_target)" : "")
                    + ": the schema may use features the target lacks, and pg_dump of the source is newer than "
                    + "the target's pg_restore", request.allowOlderTarget() ? "test the schema apply on a copy first"
                    : "use a target of PostgreSQL " + source + " or newer; or set allow_older_target after "
                    + "checking the schema restores on it");
        }
    }

    private void subscriptionRights(int major) throws SQLException {
        List<String> lacking = AgentRights.cannotSubscribe(c, major, request.database());
        if (!lacking.isEmpty()) {
            out.error("agent_lacks_rights", lacking, "the target agent's role is not a superuser and may not create "
                    + "the migration's subscription", AgentRights.SUBSCRIBE_FIX);
        }
    }

    /** Text must sort and compare as on the source: the same encoding, locales and locale provider. */
    private void locale(int major) throws SQLException {
        DatabaseLocale source = request.sourceDatabaseLocale();
        if (source == null) {
            out.note("source_database_locale not given: the target database's encoding and locale were not "
                    + "compared with the source's");
            return;
        }
        Optional<DatabaseLocale> existing = DatabaseLocale.read(c, major, request.database());
        if (existing.isPresent()) {
            List<String> differences = source.differences(existing.get());
            if (!differences.isEmpty()) {
                out.add("database_locale_differs", !request.allowLocaleChange(), differences, "database "
                        + request.database() + " exists on the target with another encoding or locale than the "
                        + "source's: text sorts and compares differently there (ORDER BY, indexes on text, "
                        + "comparisons), and rows the source accepts may not convert" + (request.allowLocaleChange()
                        ? "; allowed (allow_locale_change)" : ""), request.allowLocaleChange()
                        ? "check the application with the target's ordering before the cutover"
                        : "drop the (empty) target database and let the database step create it with the source's "
                        + "settings, or migrate into a database of another name; or set allow_locale_change "
                        + "when the new ordering is intended");
            }
            return;
        }
        if (request.allowLocaleChange()) {
            return;
        }
        List<String> unsupported = source.unsupportedOn(major, icuBuilt());
        if (!unsupported.isEmpty()) {
            out.error("database_locale_unsupported", unsupported, "the source database uses "
                    + String.join(", ", unsupported) + ", which this target cannot create a database with",
                    "use a target that can (a newer PostgreSQL, or one built with ICU); or create the target "
                    + "database yourself with the locale you choose and set allow_locale_change");
        }
    }

    /** A build without ICU still lists the predefined ICU collation "unicode" (16+), but imports no ICU locale. */
    private boolean icuBuilt() throws SQLException {
        return Catalog.count(c, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'") > 1;
    }

    private void extensions() throws SQLException {
        if (request.expectedExtensions().isEmpty()) {
            return;
        }
        Set<String> available = new HashSet<>(Catalog.strings(c, "SELECT name FROM pg_available_extensions"));
        List<String> missing = request.expectedExtensions().stream().filter(e -> !available.contains(e)).sorted()
                .toList();
        if (!missing.isEmpty()) {
            out.error("extensions_missing", missing, "the source database uses extensions the target server does "
                    + "not have installed (not in pg_available_extensions): " + String.join(", ", missing),
                    "install their packages on the target server (e.g. postgresql-<major>-<extension> or contrib), "
                    + "then rerun; the schema apply creates them");
        }
    }

    /** The oid of our subscription when it exists in this database and is ours; conflicts become findings. */
    private Long subscription() throws SQLException {
        String select = """
                SELECT s.oid, d.datname, s.subslotname, s.subpublications, %s
                FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = ?""";
        try {
            return subscription(select.formatted("s.subconninfo"));
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState())) {
                throw e;
            }
            return subscription(select.formatted("NULL"));
        }
    }

    private Long subscription(String sql) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    out.fact("subscription_exists", false);
                    return null;
                }
                out.fact("subscription_exists", true);
                String ident = Sql.ident(name);
                String database = rs.getString(2);
                String drop = "if it is a leftover, drop it (DROP SUBSCRIPTION " + ident + " in database " + database
                        + "); else use another migration id";
                if (!database.equals(request.database())) {
                    out.error("subscription_conflict", List.of(ident), "subscription " + ident + " exists in "
                            + "database " + database + " of this server, not in " + request.database() + "; "
                            + "its slot name would clash on the source", drop);
                    return null;
                }
                Array pubs = rs.getArray(4);
                List<String> publications = Arrays.asList((String[]) pubs.getArray());
                if (!name.equals(rs.getString(3)) || !publications.equals(List.of(name))) {
                    out.error("subscription_conflict", List.of(ident), "subscription " + ident + " exists but uses "
                            + "slot " + rs.getString(3) + " and publications " + publications + ", not " + ident
                            + " for both; pgferry does not adopt it", drop);
                    return null;
                }
                String elsewhere = elsewhere(rs.getString(5));
                if (elsewhere != null) {
                    out.error("subscription_conflict", List.of(ident), "subscription " + ident + " exists but "
                            + "points at " + elsewhere + ", not at the source given (" + request.connection().host()
                            + ":" + request.connection().port() + "/" + request.connection().dbname() + ")", drop);
                    return null;
                }
                return rs.getLong(1);
            }
        }
    }

    /** host:port/dbname of the stored conninfo when it names another source than the request; else null. */
    private String elsewhere(String conninfo) {
        if (conninfo == null || request.connection() == null) {
            return null;
        }
        Map<String, String> stored;
        try {
            stored = Conninfo.parse(conninfo);
        } catch (IllegalArgumentException e) {
            return null;
        }
        String host = stored.getOrDefault("host", stored.getOrDefault("hostaddr", ""));
        String port = stored.getOrDefault("port", "5432");
        String dbname = stored.getOrDefault("dbname", "");
        var want = request.connection();
        if (host.equals(want.host()) && port.equals(Integer.toString(want.port())) && dbname.equals(want.dbname())) {
            return null;
        }
        return host + ":" + port + "/" + dbname;
    }

    private void workers(Map<String, String> s) throws SQLException {
        int sync = Catalog.intSetting(s, "max_sync_workers_per_subscription");
        int maxLr = Catalog.intSetting(s, "max_logical_replication_workers");
        int maxWp = Catalog.intSetting(s, "max_worker_processes");
        int needed = 1 + sync;
        if (sync < 1) {
            out.error("too_few_sync_workers", List.of("max_sync_workers_per_subscription=" + sync),
                    "max_sync_workers_per_subscription is 0, so no table sync worker can run: the initial copy "
                    + "would never start", "ALTER SYSTEM SET max_sync_workers_per_subscription = 2; SELECT "
                    + "pg_reload_conf()");
            needed = 2;
        }
        long lrUsed = Catalog.count(c, "SELECT count(*) FROM pg_stat_subscription ss JOIN pg_subscription s "
                + "ON s.oid = ss.subid WHERE ss.pid IS NOT NULL AND s.subname <> ?", name);
        long lrFree = maxLr - lrUsed;
        if (lrFree < needed) {
            out.add("too_few_logical_replication_workers", lrFree < 2, List.of("max_logical_replication_workers="
                    + maxLr), "max_logical_replication_workers is " + maxLr + " and other subscriptions use "
                    + lrUsed + ", so " + Math.max(0, lrFree) + " are free; the migration needs 1 apply worker plus "
                    + "up to " + (needed - 1) + " table sync workers (max_sync_workers_per_subscription), "
                    + needed + " in all" + (lrFree < 2 ? ": with fewer than 2 the initial copy cannot run beside "
                    + "the apply worker" : ": the initial copy will run fewer tables at once"),
                    "ALTER SYSTEM SET max_logical_replication_workers = " + (lrUsed + needed) + "; restart the "
                    + "target (and keep max_worker_processes above it)");
        }
        long bgUsed = Catalog.count(c, "SELECT count(*) FROM pg_stat_activity WHERE backend_type NOT IN ("
                + NOT_BGWORKERS + ") AND pid NOT IN (" + OUR_WORKER_PIDS + ")", name);
        long bgFree = maxWp - bgUsed;
        if (bgFree < needed) {
            out.add("too_few_worker_processes", bgFree < 2, List.of("max_worker_processes=" + maxWp),
                    "max_worker_processes is " + maxWp + " and " + bgUsed + " background workers run (the logical "
                    + "replication launcher, parallel workers, extensions), so " + Math.max(0, bgFree) + " are "
                    + "free; logical replication workers are background workers and the migration needs " + needed
                    + " (1 apply + " + (needed - 1) + " table sync)",
                    "ALTER SYSTEM SET max_worker_processes = " + (bgUsed + needed + 2) + "; restart the target");
        }
    }

    /**
     * Before PostgreSQL 16 the logical replication launcher starts at most one apply worker per
     * wal_retrieve_retry_interval for the whole instance (16 keeps that time per subscription): migrations that start
     * their stream onto one shared target together wait in turn, which a fleet's operator should know before it does.
     */
    private void launcherPace(ServerVersion version, Map<String, String> s) {
        int intervalMs = Catalog.intSetting(s, "wal_retrieve_retry_interval");
        if (version.major() >= 16 || intervalMs <= 1000) {
            return;
        }
        out.note("PostgreSQL " + version.major() + " starts at most one subscription's apply worker per "
                + "wal_retrieve_retry_interval (" + intervalMs + " ms) on this whole instance: migrations onto it "
                + "that start streaming together wait their turn, up to " + intervalMs / 1000.0 + " s each. For a "
                + "fleet: ALTER SYSTEM SET wal_retrieve_retry_interval = '1s'; SELECT pg_reload_conf()");
    }

    private void tablesNotEmpty(Long subscription) throws SQLException {
        Scope scope = request.scope();
        Set<TableRef> ours = new HashSet<>();
        if (subscription != null) {
            try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, c.relname FROM pg_subscription_rel sr "
                    + "JOIN pg_class c ON c.oid = sr.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE sr.srsubid = ?")) {
                st.setLong(1, subscription);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        ours.add(new TableRef(rs.getString(1), rs.getString(2)));
                    }
                }
            }
        }
        List<TableRef> candidates = new ArrayList<>();
        Set<String> includeSchemas = new HashSet<>(scope.includeSchemas());
        Set<String> excludeSchemas = new HashSet<>(scope.excludeSchemas());
        Set<TableRef> includeTables = new HashSet<>(scope.includeTables());
        Set<TableRef> excludeTables = new HashSet<>(scope.excludeTables());
        try (PreparedStatement st = c.prepareStatement("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                  AND d.objid = c.oid AND d.deptype = 'e')
                ORDER BY 1, 2""");
             ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                TableRef t = new TableRef(rs.getString(1), rs.getString(2));
                boolean inScope = (includeSchemas.isEmpty() || includeSchemas.contains(t.schema()))
                        && !excludeSchemas.contains(t.schema())
                        && (includeTables.isEmpty() || includeTables.contains(t))
                        && !excludeTables.contains(t);
                if (inScope && !ours.contains(t)) {
                    candidates.add(t);
                }
            }
        }
        List<String> nonEmpty = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        withRows(candidates, nonEmpty, unreadable);
        if (!nonEmpty.isEmpty() && copyStarted) {
            out.warning("target_tables_not_empty", nonEmpty, "these tables hold rows an interrupted copy of this "
                    + "migration wrote (the copy step's state says it started and did not finish)", "rerun with "
                    + "pgferry_copy_method: pgferry: the copy step drops its old slot, empties these tables and copies "
                    + "them again under a new one (native table sync refuses them: target_tables_not_empty)");
            nonEmpty = List.of();
        }
        if (!nonEmpty.isEmpty()) {
            out.error("target_tables_not_empty", nonEmpty, "these tables on the target already hold rows and are "
                    + "in the scope: the initial copy would add the source's rows to them (duplicates, or key "
                    + "conflicts that stop replication); pgferry never overwrites data",
                    "empty them (TRUNCATE) if their rows are not needed, migrate into another database, or leave "
                    + "them out with exclude_tables");
        }
        if (!unreadable.isEmpty()) {
            out.warning("target_tables_not_empty", unreadable, "the agent's role may not read these tables, so "
                    + "whether they are empty was not checked", "run the agent as a role that can read them, or "
                    + "check by hand that they are empty");
        }
    }

    /** Which candidates hold a row, a chunk of tables per query; a chunk with an unreadable table, one by one. */
    private void withRows(List<TableRef> candidates, List<String> nonEmpty, List<String> unreadable)
            throws SQLException {
        int chunk = 500;
        for (int from = 0; from < candidates.size(); from += chunk) {
            List<TableRef> part = candidates.subList(from, Math.min(candidates.size(), from + chunk));
            StringBuilder sql = new StringBuilder();
            for (int i = 0; i < part.size(); i++) {
                sql.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i)
                        .append(" WHERE EXISTS (SELECT 1 FROM ").append(part.get(i).quoted()).append(")");
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    nonEmpty.add(part.get(rs.getInt(1)).quoted());
                }
                continue;
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) {
                    throw e;
                }
            }
            for (TableRef t : part) {
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM " + t.quoted() + ")")) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        nonEmpty.add(t.quoted());
                    }
                } catch (SQLException e) {
                    if (!"42501".equals(e.getSQLState())) {
                        throw e;
                    }
                    unreadable.add(t.quoted());
                }
            }
        }
    }

    private void disk(String dataDirectory) {
        Long size = request.sourceSizeBytes();
        if (size == null) {
            out.note("source_size_bytes not given: free disk space was not compared with the source's size");
            return;
        }
        long needed = (long) Math.ceil(size * DISK_MARGIN);
        String why;
        if (!localServer) {
            why = "the agent does not talk to PostgreSQL on this host, so it cannot measure its disk";
        } else if (dataDirectory == null) {
            why = "the agent's role may not read data_directory (superuser or pg_read_all_settings)";
        } else {
            try {
                FileStore store = Files.getFileStore(Path.of(dataDirectory));
                long free = store.getUsableSpace();
                out.fact("data_directory_free_bytes", free);
                if (free < needed) {
                    out.error("disk_space_low", List.of(dataDirectory), "the target's data directory has "
                            + free + " bytes free; the source database is " + size + " bytes and the copy needs "
                            + "about " + needed + " (size x " + DISK_MARGIN + " for indexes and WAL)",
                            "free or add space on the filesystem of " + dataDirectory + " (or use a tablespace on "
                            + "another disk) before the copy");
                }
                return;
            } catch (IOException | SecurityException e) {
                why = "the filesystem of " + dataDirectory + " could not be read from the agent ("
                        + e.getClass().getSimpleName() + ")";
            }
        }
        out.warning("disk_space_unchecked", List.of(), "free disk space on the target was not checked: " + why
                + "; the copy needs about " + needed + " bytes", "check by hand that the target's data directory "
                + "has at least " + needed + " bytes free");
    }
}
