package io.pgferry.agent.preflight;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.ReplicatedRelations.Relation;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The source side's checks, on a read-only connection to the source database. */
final class SourceChecks {
    /** Oldest PostgreSQL pgferry supports, on either side. */
    static final int MIN_MAJOR = 14;
    /**
     * Table sync workers of the initial copy, each with its own walsender and (temporary) slot on the source:
     * PostgreSQL's default max_sync_workers_per_subscription. The source cannot know the target's setting.
     */
    static final int SYNC_WORKERS = 2;

    /** What decides whether a unique index can identify rows: REPLICA IDENTITY USING INDEX's own rules. */
    private static final String INDEX = """
            SELECT i.indisunique, i.indisvalid, i.indpred IS NULL AND i.indexprs IS NULL, i.indimmediate,
                   NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
                               AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull)
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = ? AND t.relname = ? AND ic.relname = ?""";

    private final Connection c;
    private final String name;
    private final PreflightRequest request;
    private final Findings out;
    private int major;

    SourceChecks(Connection c, String name, PreflightRequest request, Findings out) {
        this.c = c;
        this.name = name;
        this.request = request;
        this.out = out;
    }

    void run(ServerVersion version) throws SQLException {
        major = version.major();
        if (version.major() < MIN_MAJOR) {
            out.error("unsupported_version", List.of(version.version()), "the source runs PostgreSQL "
                    + version.version() + "; pgferry needs " + MIN_MAJOR + " or newer on both sides",
                    "upgrade the source to PostgreSQL " + MIN_MAJOR + " or newer first (pg_upgrade), then rerun");
            return;
        }
        ResolvedScope scope = ScopeResolver.resolve(c, request.scope());
        List<TableRef> tables = scope.tableRefs();
        checkOptIns(tables);
        facts(tables);
        settings();
        List<Relation> relations = ReplicatedRelations.read(c, tables);
        unlogged(relations);
        replicaIdentity(relations);
        materializedViews(scope.schemas());
        largeObjects();
        readable(tables);
        publication(tables);
        slot();
    }

    private void checkOptIns(List<TableRef> tables) {
        List<String> stray = new ArrayList<>();
        for (TableRef t : request.replicaIdentityFull()) {
            if (!tables.contains(t)) {
                stray.add(t.quoted());
            }
        }
        for (ReplicaIdentityIndex r : request.replicaIdentityIndex()) {
            if (!tables.contains(r.table())) {
                stray.add(r.table().quoted());
            }
        }
        if (!stray.isEmpty()) {
            throw ApiException.unprocessable("unknown_objects", "replica_identity_full or replica_identity_index "
                    + "name tables that are not in scope: " + String.join(", ", stray)
                    + "; list only tables the scope selects", stray);
        }
    }

    private void facts(List<TableRef> tables) throws SQLException {
        out.fact("database_size_bytes", Catalog.count(c, "SELECT pg_database_size(current_database())"));
        out.fact("extensions", Catalog.strings(c, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' "
                + "ORDER BY 1"));
        out.fact("tables_in_scope", tables.size());
    }

    private void settings() throws SQLException {
        Map<String, String> s = Catalog.settings(c, "wal_level", "rds.logical_replication", "max_replication_slots",
                "max_wal_senders");
        String rds = s.get("rds.logical_replication");
        if (rds != null && !rds.equals("on") && !rds.equals("1")) {
            out.error("wal_level_not_logical", List.of("rds.logical_replication=" + rds), "logical replication is "
                    + "off on this Amazon RDS/Aurora instance (rds.logical_replication = " + rds + "), so no "
                    + "publication can be read", "set rds.logical_replication = 1 in the instance's DB parameter "
                    + "group and reboot the instance");
        } else if (!"logical".equals(s.get("wal_level"))) {
            out.error("wal_level_not_logical", List.of("wal_level=" + s.get("wal_level")), "wal_level is "
                    + s.get("wal_level") + "; logical replication needs wal_level = logical on the source",
                    "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not enough)");
        }
        int needed = 1 + SYNC_WORKERS;
        long slotsUsed = Catalog.count(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name <> ?", name);
        int maxSlots = Catalog.intSetting(s, "max_replication_slots");
        long freeSlots = maxSlots - slotsUsed;
        if (freeSlots < needed) {
            out.add("too_few_replication_slots", freeSlots < 1, List.of("max_replication_slots=" + maxSlots),
                    "max_replication_slots is " + maxSlots + " and " + slotsUsed + " other slots exist, so "
                    + Math.max(0, freeSlots) + " are free; the migration needs 1 for its subscription plus 1 per "
                    + "table sync worker during the initial copy (" + SYNC_WORKERS + " with PostgreSQL's default "
                    + "max_sync_workers_per_subscription), " + needed + " in all" + (freeSlots < 1
                    ? ": the subscription cannot be created" : ": the initial copy will run fewer tables at once"),
                    "raise max_replication_slots to at least " + (slotsUsed + needed) + " (ALTER SYSTEM SET "
                    + "max_replication_slots = " + (slotsUsed + needed) + "; restart), or drop unused slots");
        }
        long sendersUsed = Catalog.count(c, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender' "
                + "AND application_name IS DISTINCT FROM ?", name);
        int maxSenders = Catalog.intSetting(s, "max_wal_senders");
        long freeSenders = maxSenders - sendersUsed;
        if (freeSenders < needed) {
            out.add("too_few_wal_senders", freeSenders < 1, List.of("max_wal_senders=" + maxSenders),
                    "max_wal_senders is " + maxSenders + " and " + sendersUsed + " walsenders run, so "
                    + Math.max(0, freeSenders) + " are free; the migration needs 1 for its subscription plus 1 per "
                    + "table sync worker during the initial copy (" + SYNC_WORKERS + " by default), " + needed
                    + " in all" + (freeSenders < 1 ? ": the target cannot connect for replication"
                    : ": the initial copy will run fewer tables at once"),
                    "raise max_wal_senders to at least " + (sendersUsed + needed) + " (ALTER SYSTEM SET "
                    + "max_wal_senders = " + (sendersUsed + needed) + "; restart)");
        }
    }

    /** The publication step refuses unlogged tables: they write no WAL, so nothing could carry their rows. */
    private void unlogged(List<Relation> relations) {
        List<String> unlogged = relations.stream().filter(Relation::unlogged).map(Relation::describe).toList();
        if (!unlogged.isEmpty()) {
            out.error("unlogged_tables", unlogged, "unlogged tables write no WAL, so logical replication cannot "
                    + "carry their rows; the publication step refuses them", "make them logged (ALTER TABLE .. "
                    + "SET LOGGED; rewrites the table) or leave them out with exclude_tables (their definition "
                    + "is then not moved either; recreate and refill them on the target yourself)");
        }
    }

    private void replicaIdentity(List<Relation> relations) throws SQLException {
        Set<TableRef> full = new TreeSet<>(request.replicaIdentityFull());
        Map<TableRef, String> byIndex = new LinkedHashMap<>();
        request.replicaIdentityIndex().forEach(r -> byIndex.put(r.table(), r.index()));
        List<String> missing = new ArrayList<>();
        List<String> willBeFull = new ArrayList<>();
        List<String> willUseIndex = new ArrayList<>();
        List<String> badIndex = new ArrayList<>();
        for (Relation r : relations) {
            if (r.kind() != 'r' || r.hasReplicaIdentity()) {
                continue;
            }
            if (full.contains(r.root())) {
                willBeFull.add(r.describe());
            } else if (byIndex.containsKey(r.root()) && r.root().equals(r.table())) {
                String problem = indexProblem(r.table(), byIndex.get(r.root()));
                if (problem == null) {
                    willUseIndex.add(r.describe() + " USING INDEX " + Sql.ident(byIndex.get(r.root())));
                } else {
                    badIndex.add(r.describe() + ": index " + Sql.ident(byIndex.get(r.root())) + " " + problem);
                }
            } else {
                missing.add(r.describe());
            }
        }
        String why = "without a primary key or replica identity, PostgreSQL rejects UPDATE and DELETE on a "
                + "published table, so the application would break on the source";
        if (!missing.isEmpty()) {
            out.error("table_without_replica_identity", missing, "these tables have no primary key or replica "
                    + "identity: " + why, "add a primary key (best); or a unique index on NOT NULL columns named "
                    + "in replica_identity_index; or list the table in replica_identity_full (every UPDATE and "
                    + "DELETE then logs the whole old row); or leave it out with exclude_tables");
        }
        if (!badIndex.isEmpty()) {
            out.error("table_without_replica_identity", badIndex, "replica_identity_index names indexes that "
                    + "cannot identify rows: " + why, "name a unique, valid, non-partial, non-deferrable index on "
                    + "NOT NULL columns only, without expressions; or use replica_identity_full");
        }
        if (!willBeFull.isEmpty()) {
            out.warning("table_without_replica_identity", willBeFull, "these tables have no primary key; as asked "
                    + "(replica_identity_full), the publication step will set REPLICA IDENTITY FULL on them, so "
                    + "every UPDATE and DELETE logs the whole old row and the target finds rows by a full "
                    + "comparison (slow on large tables without an index)", "add a primary key when you can");
        }
        if (!willUseIndex.isEmpty()) {
            out.warning("table_without_replica_identity", willUseIndex, "these tables have no primary key; as "
                    + "asked (replica_identity_index), they must be set to ALTER TABLE .. REPLICA IDENTITY USING "
                    + "INDEX before the publication step", "run the ALTER TABLE .. REPLICA IDENTITY USING INDEX "
                    + "shown in objects on the source (the publication step then accepts the table), or add a "
                    + "primary key");
        }
    }

    /** Null when the index can be the table's replica identity; else why not. */
    private String indexProblem(TableRef table, String index) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(INDEX)) {
            st.setString(1, table.schema());
            st.setString(2, table.name());
            st.setString(3, index);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return "does not exist on that table";
                }
                if (!rs.getBoolean(1)) {
                    return "is not unique";
                }
                if (!rs.getBoolean(2)) {
                    return "is not valid";
                }
                if (!rs.getBoolean(3)) {
                    return "is partial or has expressions";
                }
                if (!rs.getBoolean(4)) {
                    return "is deferrable";
                }
                if (!rs.getBoolean(5)) {
                    return "covers a column that allows NULL";
                }
                return null;
            }
        }
    }

    private void materializedViews(List<String> schemas) throws SQLException {
        List<String> views = Catalog.strings(c, """
                SELECT '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"'
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'm' AND n.nspname = ANY (?) ORDER BY 1""", (Object) schemas.toArray(String[]::new));
        if (!views.isEmpty()) {
            out.warning("materialized_views", views, "materialized views are not replicated: their definitions "
                    + "move with the schema, and the post-data step refreshes on the target those populated on "
                    + "the source (REFRESH MATERIALIZED VIEW), once the tables are copied; later changes on the "
                    + "source do not reach them", "refresh them on the target after the cutover as you do on the "
                    + "source (or exclude their schema if they are not wanted)");
        }
    }

    private void largeObjects() throws SQLException {
        long count = Catalog.count(c, "SELECT count(*) FROM pg_largeobject_metadata");
        if (count > 0) {
            out.add("large_objects_present", !request.skipLargeObjects(), List.of(count + " large objects"),
                    "the database holds " + count + " large objects (pg_largeobject), which logical replication "
                    + "does not carry" + (request.skipLargeObjects() ? "; as asked (skip_large_objects) they are "
                    + "left behind" : ""), request.skipLargeObjects() ? "copy them yourself if they are needed "
                    + "(pg_dump --large-objects, or lo_export/lo_import)" : "move them another way (pg_dump "
                    + "--large-objects after the cutover) and set skip_large_objects, or store the data in bytea "
                    + "columns instead");
        }
    }

    private void readable(List<TableRef> tables) throws SQLException {
        boolean exists = Catalog.count(c, "SELECT count(*) FROM pg_roles WHERE rolname = ?", name) > 0;
        out.fact("replication_role_exists", exists);
        if (!exists) {
            out.note("role " + name + " does not exist yet: the replication_role step creates it with USAGE on the "
                    + "schemas and SELECT on the tables in scope");
            return;
        }
        List<String> unreadable = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("""
                SELECT r.nsp, r.rel FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
                WHERE NOT has_schema_privilege(?, r.nsp, 'USAGE')
                   OR NOT has_table_privilege(?, format('%I.%I', r.nsp, r.rel), 'SELECT')
                ORDER BY 1, 2""")) {
            st.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            st.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            st.setString(3, name);
            st.setString(4, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    unreadable.add(Sql.qualified(rs.getString(1), rs.getString(2)));
                }
            }
        }
        if (!unreadable.isEmpty()) {
            out.warning("tables_not_readable", unreadable, "the replication role " + name + " may not read these "
                    + "tables (SELECT, or USAGE on their schema), so their initial copy would fail",
                    "the replication_role step grants what is missing; run it (it runs right after preflight), or "
                    + "GRANT USAGE ON SCHEMA .. and GRANT SELECT ON .. TO " + Sql.ident(name));
        }
    }

    private void publication(List<TableRef> tables) throws SQLException {
        long oid;
        boolean allTables;
        try (PreparedStatement st = c.prepareStatement("SELECT oid, puballtables FROM pg_publication "
                + "WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                oid = rs.getLong(1);
                allTables = rs.getBoolean(2);
            }
        }
        long schemas = major < 15 ? 0
                : Catalog.count(c, "SELECT count(*) FROM pg_publication_namespace WHERE pnpubid = ?", oid);
        if (allTables || schemas > 0) {
            out.error("publication_conflict", List.of(Sql.ident(name)), "publication " + Sql.ident(name)
                    + " exists but publishes " + (allTables ? "all tables" : "whole schemas") + ", which pgferry "
                    + "does not manage", "drop it (DROP PUBLICATION " + Sql.ident(name) + ", or DELETE the "
                    + "publication endpoint) if it is a leftover; else choose another migration id");
            return;
        }
        Set<TableRef> members = new TreeSet<>();
        try (PreparedStatement st = c.prepareStatement("""
                SELECT n.nspname, c.relname FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE pr.prpubid = ?""")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    members.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        List<String> extra = members.stream().filter(t -> !tables.contains(t)).map(TableRef::quoted).toList();
        List<String> absent = tables.stream().filter(t -> !members.contains(t)).map(TableRef::quoted).toList();
        if (!extra.isEmpty() || !absent.isEmpty()) {
            List<String> objects = new ArrayList<>();
            extra.forEach(t -> objects.add("drop " + t));
            absent.forEach(t -> objects.add("add " + t));
            out.warning("publication_conflict", objects, "publication " + Sql.ident(name) + " exists with other "
                    + "tables than the scope: the publication step will add " + absent.size() + " and drop "
                    + extra.size() + " (a dropped table stops replicating)", "check that the scope is the one "
                    + "you mean; if the publication belongs to something else, use another migration id");
        }
    }

    private void slot() throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT slot_type, plugin, database, active "
                + "FROM pg_replication_slots WHERE slot_name = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                String type = rs.getString(1);
                String plugin = rs.getString(2);
                String database = rs.getString(3);
                if (!"logical".equals(type) || !"pgoutput".equals(plugin) || !request.database().equals(database)) {
                    String what = "logical".equals(type) ? "a logical slot with plugin " + plugin + " in database "
                            + database : "a " + type + " slot";
                    out.error("slot_conflict", List.of(name), "replication slot " + name + " exists but is " + what
                            + ", not a pgoutput slot in database " + request.database() + "; the subscription "
                            + "needs that slot name", "if it is a leftover, drop it (SELECT "
                            + "pg_drop_replication_slot(" + Sql.literal(name) + ")); else choose another migration "
                            + "id");
                }
            }
        }
    }
}
