package io.pgferry.agent.cleanup;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.fence.FenceFiles;
import io.pgferry.agent.fence.FenceService;
import io.pgferry.agent.migration.ApplyTriggers;
import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.replicationrole.RowSecurity;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.SchemaFingerprint;
import io.pgferry.agent.sql.Sql;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Removes everything a migration made on this server, whether it finished, failed or was abandoned, in an order
 * that never blocks on the other side: subscriptions (their slots dropped through them, or detached when the
 * publisher is gone), publications, leftover slots (a walsender still holding one is ended first), the fence, the
 * copy policies (row-level security), the replica identities pgferry set (back to what they were), the replication
 * role, and the migration's files in the state directory. Each object is looked up first, so a rerun does nothing.
 */
public final class CleanupService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /**
     * @param remaining what could not be removed, with the reason
     * @param replicaIdentityChanges what this side recorded (before this call), for the other side's cleanup
     * @param tablesEmptied tables truncated ({@code empty_tables})
     */
    public record Cleanup(String database, List<String> remaining, boolean stateRemoved,
                          List<ReplicaIdentityChanges.Change> replicaIdentityChanges, List<String> tablesEmptied) {
    }

    private final PgConnector connector;
    private final Path stateDir;

    public CleanupService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    public synchronized StepResult<Cleanup> cleanup(MigrationId migration, CleanupRequest request)
            throws InterruptedException {
        String db = request.database();
        List<String> names = new ArrayList<>(List.of(Direction.FORWARD.objectName(migration)));
        if (!request.keepReverse()) {
            names.add(Direction.REVERSE.objectName(migration));
        }
        List<String> queries = new ArrayList<>();
        List<String> remaining = new ArrayList<>();
        List<String> emptied = new ArrayList<>();
        ReplicaIdentityChanges identities = new ReplicaIdentityChanges(stateDir, migration);
        List<ReplicaIdentityChanges.Change> recorded = identities.load();
        if (!databaseExists(db)) {
            return databaseGone(migration, request, names, recorded);
        }
        boolean changed = false;
        try (Connection c = Sessions.writable(connector, db, TIMEOUT)) {
            if (request.emptyTables()) {
                refuseOnSource(c, migration, db);
            }
            // Read before the subscription goes: its tables are the copy an abandon empties.
            Set<TableRef> copied = request.emptyTables() ? copiedTables(c, migration) : Set.of();
            boolean feedsReverse = Subscriptions.read(c, Direction.REVERSE.objectName(migration)).isPresent();
            for (String name : names) {
                changed |= dropSubscription(c, name, request.check(), queries);
            }
            if (!(request.keepReverse() && feedsReverse)) {
                // No stream applies here any more: what was tempered for one fires as it did before.
                List<String> restored = new ApplyTriggers(stateDir, migration, db).restore(c, request.check(),
                        remaining);
                queries.addAll(restored);
                changed |= !restored.isEmpty();
            }
            Plan plan = new Plan();
            for (String name : names) {
                if (exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ?", name)) {
                    plan.add("DROP PUBLICATION " + Sql.ident(name));
                }
            }
            run(plan, c, request.check(), queries);
            changed |= !plan.isEmpty();
            for (String name : names) {
                changed |= dropSlot(c, name, request.check(), queries, remaining);
            }
            plan = new Plan();
            // The reverse stream kept applies into a fenced old source: the fence stays with it. With keep_state the
            // other side is cleaned next and this one's last call lifts it: a side clients left stays fenced until
            // nothing of the migration is left on the other.
            if (FenceService.fenced(c, db) && !(request.keepReverse() && feedsReverse) && !request.keepState()) {
                plan.add("ALTER DATABASE " + Sql.ident(db) + " RESET default_transaction_read_only");
            }
            run(plan, c, request.check(), queries);
            if (!plan.isEmpty() && !request.check()) {
                connector.forgetSessions();
            }
            changed |= !plan.isEmpty();
            // The copy's temporary policies (row-level security), whether or not the copy finished.
            plan = new Plan();
            for (TableRef t : RowSecurity.copyPolicies(c, migration.objectName())) {
                plan.add("DROP POLICY " + Sql.ident(migration.objectName()) + " ON " + t.quoted());
            }
            run(plan, c, request.check(), queries);
            changed |= !plan.isEmpty();
            if (!request.keepReverse()) {
                // After the publications: none of them needs the identity any more.
                // This side's own record first; the other side's for the tables it does not name.
                Map<TableRef, ReplicaIdentityChanges.Change> byTable = new LinkedHashMap<>();
                recorded.forEach(ch -> byTable.putIfAbsent(ch.table(), ch));
                request.restoreReplicaIdentity().forEach(ch -> byTable.putIfAbsent(ch.table(), ch));
                List<ReplicaIdentityChanges.Change> restore = List.copyOf(byTable.values());
                plan = ReplicaIdentityChanges.restorePlan(c, restore, remaining);
                run(plan, c, request.check(), queries);
                changed |= !plan.isEmpty();
            }
            if (!copied.isEmpty()) {
                plan = new Plan().add("TRUNCATE " + copied.stream().map(TableRef::quoted)
                        .collect(Collectors.joining(", ")));
                if (!request.check()) {
                    plan.runInTransaction(c);
                }
                queries.addAll(plan.shown());
                copied.forEach(t -> emptied.add(t.quoted()));
                changed = true;
            }
            if (!request.keepReverse()) {
                changed |= dropRole(c, migration.objectName(), request.check(), queries, remaining);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        boolean removed = removeFiles(migration, request);
        changed |= removed;
        return new StepResult<>(changed, request.check(), queries, new Cleanup(db, remaining, removed, recorded,
                emptied));
    }

    private boolean databaseExists(String db) {
        try (Connection c = connector.open(TIMEOUT)) {
            return exists(c, "SELECT 1 FROM pg_database WHERE datname = ?", db);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * The database is gone, and with it the subscriptions, publications, policies and identities it held (PostgreSQL
     * refuses to drop a database with a subscription or an active slot): what is left is server-wide, the role and
     * this agent's files. A mistyped name must not drop the role a live migration uses, so when a slot or
     * subscription of the migration is in another database the call is refused, naming it.
     */
    private StepResult<Cleanup> databaseGone(MigrationId migration, CleanupRequest request, List<String> names,
                                             List<ReplicaIdentityChanges.Change> recorded) {
        String db = request.database();
        List<String> queries = new ArrayList<>();
        List<String> remaining = new ArrayList<>();
        boolean changed = false;
        try (Connection c = Sessions.writable(connector, connector.config().database(), TIMEOUT)) {
            String elsewhere = liveObjectElsewhere(c, names);
            if (elsewhere != null) {
                throw ApiException.notFound("database_not_found", "database " + db + " does not exist on this server, "
                        + "but " + elsewhere + ": nothing was changed. Run cleanup with that database");
            }
            if (!request.keepReverse()) {
                changed = dropRole(c, migration.objectName(), request.check(), queries, remaining);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        boolean removed = removeFiles(migration, request);
        changed |= removed;
        return new StepResult<>(changed, request.check(), queries, new Cleanup(db, remaining, removed, recorded,
                List.of()));
    }

    /** The fence's record and, unless kept, the migration's state directory; true when the directory was removed. */
    private boolean removeFiles(MigrationId migration, CleanupRequest request) {
        if (request.check()) {
            return false;
        }
        new FenceFiles(stateDir, migration).remove(request.database());
        return !request.keepReverse() && !request.keepState() && removeState(migration);
    }

    /** A slot or subscription of the migration, named with its database, or null. Both catalogs are server-wide. */
    private static String liveObjectElsewhere(Connection c, List<String> names) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT 'slot ' || slot_name || ' is in database ' || database FROM pg_replication_slots
                WHERE slot_name = ANY (?) AND database IS NOT NULL
                UNION ALL
                SELECT 'subscription ' || s.subname || ' is in database ' || d.datname FROM pg_subscription s
                JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = ANY (?)
                LIMIT 1""")) {
            Array array = c.createArrayOf("text", names.toArray());
            ps.setArray(1, array);
            ps.setArray(2, array);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** Emptying tables is for the target's copy; the source's tables are the data itself. */
    private void refuseOnSource(Connection c, MigrationId migration, String db) throws SQLException {
        boolean publishes = exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ?", migration.objectName());
        boolean archivedHere = SchemaFingerprint.load(stateDir, migration).isPresent()
                && new ArchiveFiles(stateDir, migration).manifest().map(m -> m.database().equals(db)).orElse(false);
        if (publishes || archivedHere) {
            throw ApiException.unprocessable("not_the_target", "empty_tables empties an abandoned target's copy, but "
                    + "database " + db + " is the migration's source (it " + (publishes ? "publishes "
                    + migration.objectName() : "was archived here") + "); nothing was changed. Run cleanup here "
                    + "without empty_tables", List.of(db));
        }
    }

    /**
     * The migration's tables in this database that hold rows: those of the forward subscription (while it exists)
     * and those of the manifest this agent received (after an interrupted abandon dropped the subscription).
     */
    private Set<TableRef> copiedTables(Connection c, MigrationId migration) throws SQLException {
        Set<TableRef> tables = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT n.nspname, cl.relname FROM pg_subscription s
                JOIN pg_subscription_rel r ON r.srsubid = s.oid
                JOIN pg_class cl ON cl.oid = r.srrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
                WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)) {
            ps.setString(1, migration.objectName());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        new ArchiveFiles(stateDir, migration).manifest().ifPresent(m -> tables.addAll(m.tables()));
        Set<TableRef> full = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_class cl JOIN pg_namespace n "
                + "ON n.oid = cl.relnamespace WHERE n.nspname = ? AND cl.relname = ? AND cl.relkind IN ('r', 'p'))")) {
            for (TableRef t : tables) {
                ps.setString(1, t.schema());
                ps.setString(2, t.name());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1) && hasRows(c, t)) {
                        full.add(t);
                    }
                }
            }
        }
        return full;
    }

    private static boolean hasRows(Connection c, TableRef t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM " + t.quoted() + ")");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static boolean dropSubscription(Connection c, String name, boolean check, List<String> queries)
            throws SQLException {
        Plan plan = Subscriptions.dropPlan(c, name, false);
        if (plan.isEmpty()) {
            return false;
        }
        if (check) {
            queries.addAll(plan.shown());
            return true;
        }
        try {
            plan.runEach(c);
            queries.addAll(plan.shown());
        } catch (SQLException e) {
            // The publisher cannot be reached (or its slot is gone): detach and drop here; its slot, if any, is
            // dropped by the cleanup on that side or shows up in its orphans report.
            Plan detached = Subscriptions.dropPlan(c, name, true);
            detached.runEach(c);
            queries.addAll(detached.shown());
        }
        return true;
    }

    private static boolean dropSlot(Connection c, String name, boolean check, List<String> queries,
                                    List<String> remaining) throws SQLException, InterruptedException {
        String read = "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?";
        Integer pid;
        try (PreparedStatement ps = c.prepareStatement(read)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                pid = (Integer) rs.getObject(1);
            }
        }
        if (pid != null) {
            queries.add("SELECT pg_terminate_backend(" + pid + ") -- walsender holding slot " + name);
        }
        queries.add("SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
        if (check) {
            return true;
        }
        for (int attempt = 0; attempt < 50; attempt++) {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(active_pid) FROM "
                    + "pg_replication_slots WHERE slot_name = ? AND active_pid IS NOT NULL")) {
                ps.setString(1, name);
                ps.executeQuery().close();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(slot_name) FROM "
                    + "pg_replication_slots WHERE slot_name = ? AND NOT active")) {
                ps.setString(1, name);
                ps.executeQuery().close();
            } catch (SQLException e) {
                if (!"55006".equals(e.getSQLState())) {
                    throw e;
                }
            }
            if (!exists(c, "SELECT 1 FROM pg_replication_slots WHERE slot_name = ?", name)) {
                return true;
            }
            Thread.sleep(100);
        }
        remaining.add("slot " + name + ": still in use by a subscriber that reconnects; drop its subscription");
        return true;
    }

    private static boolean dropRole(Connection c, String role, boolean check, List<String> queries,
                                    List<String> remaining) throws SQLException {
        if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
            return false;
        }
        Plan plan = new Plan();
        // DROP OWNED BY needs the role's privileges. A superuser has them; a managed service's admin role (CREATEROLE,
        // not superuser) made the role and may grant it to itself - the membership goes with DROP ROLE.
        if (!exists(c, "SELECT 1 WHERE pg_has_role(current_user, ?, 'USAGE')", role)) {
            plan.add("GRANT " + Sql.ident(role) + " TO CURRENT_USER");
        }
        plan.add("DROP OWNED BY " + Sql.ident(role)).add("DROP ROLE " + Sql.ident(role));
        if (check) {
            queries.addAll(plan.shown());
            return true;
        }
        try {
            plan.runInTransaction(c);
            queries.addAll(plan.shown());
        } catch (SQLException e) {
            if (!"2BP01".equals(e.getSQLState())) {
                throw e;
            }
            remaining.add("role " + role + ": it still has privileges or objects in another database; run cleanup "
                    + "there too");
        }
        return true;
    }

    private static void run(Plan plan, Connection c, boolean check, List<String> queries) throws SQLException {
        if (!check) {
            plan.runEach(c);
        }
        queries.addAll(plan.shown());
    }

    private static boolean exists(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private boolean removeState(MigrationId migration) {
        Path dir = stateDir.resolve(migration.value());
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }

}
