package io.pgferry.agent.preflight;

import io.pgferry.agent.database.DatabaseLocale;
import io.pgferry.agent.migration.FullRowEquality;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.OtherMigrations;
import io.pgferry.agent.migration.ReplicatedRelations.Relation;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.publication.RunningStream;
import io.pgferry.agent.replicationrole.AgentRights;
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
    private final MigrationId migration;
    private final String name;
    private final PreflightRequest request;
    private final Findings out;
    private int major;

    SourceChecks(Connection c, MigrationId migration, PreflightRequest request, Findings out) {
        this.c = c;
        this.migration = migration;
        this.name = migration.objectName();
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
        Catalog.primary(c, "source", out);
        ResolvedScope scope = ScopeResolver.resolve(c, request.scope());
        outsideDependencies(scope);
        extensionSchemas(scope);
        List<TableRef> tables = scope.tableRefs();
        // Unlogged tables moved empty are not published: only the others must replicate.
        List<TableRef> empty = UnloggedTables.movedEmpty(request.unloggedTables(), scope.tables());
        List<TableRef> published = tables.stream().filter(t -> !empty.contains(t)).toList();
        checkOptIns(tables);
        facts(tables);
        settings();
        List<Relation> relations = ReplicatedRelations.read(c, published);
        unlogged(relations);
        lockSlots(relations.size());
        replicaIdentity(relations);
        largeObjects();
        readable(tables);
        agentRights(scope);
        new RowSecurityCheck(c, name, request, out, major).run(tables);
        publication(published);
        otherMigrations();
        slot();
        new SourcePrivilegeChecks(c, request, out).run(major, scope);
        partitionRights(tables);
        LeftBehindChecks.read(c, scope.schemas(), tables, new LeftBehindChecks.Options(request.unloggedTables(),
                request.refreshMaterializedViews())).forEach(out::add);
    }

    private void outsideDependencies(ResolvedScope scope) throws SQLException {
        List<OutsideDependencies.Dependency> deps = OutsideDependencies.read(c, scope);
        out.fact("outside_dependencies", deps);
        if (!deps.isEmpty()) {
            out.warning("outside_dependencies", deps.stream().map(OutsideDependencies.Dependency::describe).toList(),
                    "these objects in scope need objects outside it, which the schema archive does not carry: the "
                    + "schema apply fails unless the target database has them (the target's preflight looks)",
                    "include their schema or table in the scope; or create them in the target database first; or "
                    + "remove the dependency");
        }
    }

    private void partitionRights(List<TableRef> tables) throws SQLException {
        List<String> lacking = request.privileges() ? PartitionRights.read(c, tables) : List.of();
        out.fact("partition_rights", lacking);
        if (major >= 16 && !lacking.isEmpty()) {
            out.warning("partition_rights_missing", lacking, PartitionRights.why("here, the reverse stream the "
                    + "cutover keeps for a rollback (the forward stream: the target's preflight says)"),
                    PartitionRights.FIX);
        }
    }

    /** The replication_role step runs as the agent's role: what it cannot do there is said now. */
    private void agentRights(ResolvedScope scope) throws SQLException {
        List<String> lacking = new ArrayList<>(AgentRights.lacking(c, major, name, scope));
        lacking.addAll(AgentRights.notOwned(c, scope));
        if (!lacking.isEmpty()) {
            out.error("agent_lacks_rights", lacking, "the source agent's role is not a superuser and lacks what the "
                    + "replication_role step takes (PostgreSQL would refuse it, or grant nothing and let the copy fail "
                    + "with \"permission denied\"), or the publication and the cutover's fence take",
                    AgentRights.fix(name));
        }
        List<String> reverse = AgentRights.cannotSubscribe(c, major, request.database());
        if (!reverse.isEmpty()) {
            out.warning("reverse_stream_not_possible", reverse, "the source agent's role may not create a "
                    + "subscription here, so the cutover could not keep a reverse stream to this database (its ready "
                    + "check refuses, before pausing anything, unless the reverse stream is turned off)",
                    AgentRights.SUBSCRIBE_FIX + "; or cut over without a reverse stream "
                    + "(pgferry_cutover_reverse_replication: false): a rollback then has no stream to catch up from");
        }
    }

    private void checkOptIns(List<TableRef> scope) {
        Set<TableRef> tables = new java.util.HashSet<>(scope);
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

    /** pg_dump writes CREATE EXTENSION .. WITH SCHEMA; a schema the scope leaves out is not in the archive. */
    private void extensionSchemas(ResolvedScope scope) throws SQLException {
        List<String> outside = Catalog.strings(c, """
                SELECT e.extname || ' (in schema ' || quote_ident(n.nspname) || ')'
                FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname <> 'plpgsql' AND n.nspname NOT IN ('public', 'pg_catalog')
                  AND n.nspname <> ALL (?::text[])
                ORDER BY 1""", (Object) scope.schemas().toArray(new String[0]));
        if (!outside.isEmpty()) {
            out.warning("extension_schema_outside_scope", outside, "these extensions live in schemas the scope "
                    + "leaves out: the schema apply creates them in the same schema on the target and refuses "
                    + "(extension_schema_missing) where the target database lacks it", "include those schemas in the "
                    + "scope (include_schemas), or create them in the target database with the grants the source "
                    + "gives on them before the schema apply");
        }
    }

    private void facts(List<TableRef> tables) throws SQLException {
        out.fact("database_size_bytes", Catalog.count(c, "SELECT pg_database_size(current_database())"));
        out.fact("extensions", Catalog.strings(c, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' "
                + "ORDER BY 1"));
        out.fact("tables_in_scope", tables.size());
        out.fact("database_locale", DatabaseLocale.read(c, major, request.database()).orElse(null));
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

    /**
     * pg_dump locks every table it dumps in one transaction, and the schema goes into the target in one: with
     * thousands of tables (partitions above all), the shared lock table ({@code max_locks_per_transaction} per
     * connection slot) runs out and both fail with "out of shared memory".
     */
    private void lockSlots(int relations) throws SQLException {
        Map<String, String> s = Catalog.settings(c, "max_locks_per_transaction", "max_connections",
                "max_prepared_transactions");
        int perSlot = Catalog.intSetting(s, "max_locks_per_transaction");
        int slots = Catalog.intSetting(s, "max_connections") + Catalog.intSetting(s, "max_prepared_transactions");
        long capacity = (long) perSlot * slots;
        out.fact("relations_in_scope", relations);
        if (capacity > 0 && relations > capacity / 2) {
            long needed = ((2L * relations / Math.max(1, slots)) / 64 + 1) * 64;
            out.add("too_few_lock_slots", relations > capacity * 9 / 10, List.of("max_locks_per_transaction="
                    + perSlot), relations + " tables and partitions are in scope and pg_dump locks each of them in "
                    + "one transaction (the schema apply creates them on the target in one too), while the lock table "
                    + "holds " + capacity + " locks (max_locks_per_transaction " + perSlot + " x " + slots
                    + " connection slots), shared with every session: past it they fail with \"out of shared "
                    + "memory\"", "ALTER SYSTEM SET max_locks_per_transaction = " + needed + " on the source and the "
                    + "target, then restart both (it only sizes shared memory)");
        }
    }

    /**
     * The publication step refuses unlogged tables it would publish: they write no WAL, so nothing could carry their
     * rows. With unlogged_tables: empty, unlogged tables are not published (LeftBehindChecks reports them); an
     * unlogged partition of a logged root still would be, through its root.
     */
    private void unlogged(List<Relation> relations) {
        List<String> tables = relations.stream().filter(r -> r.unlogged() && r.root().equals(r.table()))
                .map(Relation::describe).toList();
        List<String> partitions = relations.stream().filter(r -> r.unlogged() && !r.root().equals(r.table()))
                .map(Relation::describe).toList();
        if (!tables.isEmpty()) {
            out.error("unlogged_tables", tables, "unlogged tables write no WAL, so logical replication cannot "
                    + "carry their rows; the publication step refuses them", "make them logged (ALTER TABLE .. "
                    + "SET LOGGED; rewrites the table); or set unlogged_tables: empty to create them on the target "
                    + "without their rows; or leave them out with exclude_tables (their definition is then not "
                    + "moved either)");
        }
        if (!partitions.isEmpty()) {
            out.error("unlogged_tables", partitions, "these partitions are unlogged: their root is published, so "
                    + "the initial copy would carry their rows but no later change", "make them logged (ALTER "
                    + "TABLE .. SET LOGGED), or leave their root out with exclude_tables");
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
        List<TableRef> comparedWhole = new ArrayList<>();
        List<String> deferrable = new ArrayList<>();
        for (Relation r : relations) {
            if (r.kind() == 'r' && r.replicaIdentity() == 'f') {
                comparedWhole.add(r.table());
            }
            if (r.kind() != 'r' || r.hasReplicaIdentity()) {
                continue;
            }
            if (full.contains(r.root())) {
                willBeFull.add(r.describe());
                comparedWhole.add(r.table());
            } else if (byIndex.containsKey(r.root()) && r.root().equals(r.table())) {
                String problem = indexProblem(r.table(), byIndex.get(r.root()));
                if (problem == null) {
                    willUseIndex.add(r.describe() + " USING INDEX " + Sql.ident(byIndex.get(r.root())));
                } else {
                    badIndex.add(r.describe() + ": index " + Sql.ident(byIndex.get(r.root())) + " " + problem);
                }
            } else {
                missing.add(r.describe());
                if (r.deferrableKey()) {
                    deferrable.add(r.describe());
                }
            }
        }
        String why = "without a primary key or replica identity, PostgreSQL rejects UPDATE and DELETE on a "
                + "published table, so the application would break on the source";
        if (!missing.isEmpty()) {
            out.error("table_without_replica_identity", missing, "these tables have no primary key or replica "
                    + "identity" + (deferrable.isEmpty() ? "" : " (" + String.join(", ", deferrable) + ": a DEFERRABLE "
                    + "primary key, which PostgreSQL does not use as identity)") + ": " + why,
                    "add a primary key (best); or a unique, not deferrable index on NOT NULL columns (for a "
                    + "deferrable key: on its columns) named in replica_identity_index; or list the table in "
                    + "replica_identity_full (every UPDATE and DELETE then logs the whole old row); or leave it out "
                    + "with exclude_tables");
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
        List<String> uncomparable = new FullRowEquality(c).uncomparable(comparedWhole);
        if (!uncomparable.isEmpty()) {
            out.error("replica_identity_full_uncomparable", uncomparable, "these columns are in tables with REPLICA "
                    + "IDENTITY FULL (set, or asked for with replica_identity_full), and their types have no equality "
                    + "operator: the target finds the row of an UPDATE or DELETE by comparing every column, so its "
                    + "apply would fail (\"could not identify an equality operator\") at the first one and the "
                    + "stream would stop", "add a primary key (best); or a unique index on NOT NULL columns named in "
                    + "replica_identity_index; or change the column's type (jsonb instead of json); or leave the "
                    + "table out with exclude_tables");
        }
        if (!willUseIndex.isEmpty()) {
            out.warning("table_without_replica_identity", willUseIndex, "these tables have no primary key; as "
                    + "asked (replica_identity_index), the publication step sets REPLICA IDENTITY USING INDEX on "
                    + "them (cleanup puts back what they had)", "nothing to do; add a primary key when you can");
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

    /**
     * Logical replication does not carry large objects: the large_objects step copies them after the initial copy and
     * the cutover brings those written since in line, unless the operator leaves them behind.
     */
    private void largeObjects() throws SQLException {
        long count = Catalog.count(c, "SELECT count(*) FROM pg_largeobject_metadata");
        if (count == 0) {
            return;
        }
        long bytes = Catalog.count(c, "SELECT pg_relation_size('pg_catalog.pg_largeobject')");
        boolean readable = Catalog.count(c, "SELECT count(*) WHERE has_table_privilege("
                + "'pg_catalog.pg_largeobject', 'SELECT')") > 0;
        List<String> objects = List.of(count + " large objects");
        String what = count + " large objects (pg_largeobject takes " + bytes / (1024 * 1024) + " MiB)";
        if (request.skipLargeObjects()) {
            out.warning("large_objects_present", objects, "the database holds " + what + ", which logical "
                    + "replication does not carry; as asked (skip_large_objects) pgferry leaves them behind: the "
                    + "target will not have them", "copy them yourself after the cutover if they are needed: "
                    + "pg_dump --data-only --blobs (-b; PostgreSQL 16 and later also call it --large-objects) of "
                    + "the source, restored into the target; or lo_export/lo_import; or let pgferry move them "
                    + "(drop skip_large_objects)");
            return;
        }
        out.warning("large_objects_present", objects, "the database holds " + what + ", which logical "
                + "replication does not carry: the large_objects step copies them (oids, owners, ACLs, comments) "
                + "after the initial copy, and the cutover copies those created, changed or removed since, once "
                + "before the pause and once after the fence; "
                + (readable ? "inside the pause it finds them by reading the transaction ids of pg_largeobject's "
                + "rows, which takes time in proportion to pg_largeobject's size"
                : "the agent's role may not read pg_largeobject, so changes are found by comparing every object's "
                + "content on both sides, inside the pause too, which takes time in proportion to their total "
                + "size"), readable ? "nothing to do; to leave them behind instead, set skip_large_objects"
                : "run the agent as a role that may read pg_largeobject (a superuser, or a member of "
                + "pg_read_all_data) to keep the pause short; or set skip_large_objects to leave them behind");
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
                WHERE NOT has_schema_privilege(?, (SELECT oid FROM pg_namespace WHERE nspname = r.nsp), 'USAGE')
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
        Set<TableRef> inScope = new java.util.HashSet<>(tables);
        List<String> extra = members.stream().filter(t -> !inScope.contains(t)).map(TableRef::quoted).toList();
        List<String> absent = tables.stream().filter(t -> !members.contains(t)).map(TableRef::quoted).toList();
        if ((!extra.isEmpty() || !absent.isEmpty()) && RunningStream.started(c, name)) {
            List<TableRef> add = tables.stream().filter(t -> !members.contains(t)).toList();
            List<TableRef> drop = members.stream().filter(t -> !inScope.contains(t)).toList();
            out.error(RunningStream.CODE, RunningStream.objects(add, drop, false),
                    RunningStream.problem(name, add, drop, false), RunningStream.fix(migration.value()));
        } else if (!extra.isEmpty() || !absent.isEmpty()) {
            List<String> objects = new ArrayList<>();
            extra.forEach(t -> objects.add("drop " + t));
            absent.forEach(t -> objects.add("add " + t));
            out.warning("publication_conflict", objects, "publication " + Sql.ident(name) + " exists with other "
                    + "tables than the scope: the publication step will add " + absent.size() + " and drop "
                    + extra.size() + " (a dropped table stops replicating)", "check that the scope is the one "
                    + "you mean; if the publication belongs to something else, use another migration id");
        }
    }

    /** One database moves in one migration ({@link OtherMigrations}). */
    private void otherMigrations() throws SQLException {
        List<String> others = OtherMigrations.publishing(c, migration);
        if (!others.isEmpty()) {
            out.error(OtherMigrations.CODE, others, OtherMigrations.sourceProblem(request.database(), others),
                    OtherMigrations.SOURCE_FIX);
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
