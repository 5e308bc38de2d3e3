package io.pgferry.agent.schemaapply;

import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.privilegeset.PrivilegePlanner;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.schemaarchive.ExtensionRef;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.Restore;
import io.pgferry.agent.schemaarchive.TargetArchive;
import io.pgferry.agent.schemaarchive.TargetCatalog;
import io.pgferry.agent.schemaarchive.TocEntry;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.sql.Sql;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Creates the scope's schema on the target before the copy: pre-data in one transaction (all or nothing) together
 * with the source's owners and privileges (through the role map), then the primary keys and replica-identity
 * indexes logical replication needs to apply UPDATEs and DELETEs. Secondary indexes, foreign keys and triggers wait
 * for post-data, so the initial copy runs fast and unchecked.
 *
 * <p>Owners go in with the objects, so no object is ever visible with the agent's role as its owner: a SECURITY
 * DEFINER function would otherwise run with the agent's rights (a superuser's) for anyone allowed to call it, and
 * index builds and materialized-view refreshes later in post-data run as the object's owner (PostgreSQL's
 * security-restricted operations), never as the agent's role (docs/design.md, "Owners and privileges").
 */
public final class SchemaApplyService {
    public static final String STEP = "schema-apply";
    private static final List<String> ONE_TRANSACTION = List.of("--single-transaction");

    private final PgConnector connector;
    private final PgToolsCache pgTools;
    private final PgProcess process;
    private final JobRunner jobs;
    private final Path stateDir;

    public SchemaApplyService(PgConnector connector, PgToolsCache pgTools, PgProcess process, JobRunner jobs,
                              Path stateDir) {
        this.connector = connector;
        this.pgTools = pgTools;
        this.process = process;
        this.jobs = jobs;
        this.stateDir = stateDir;
    }

    /** What a schema apply restores (pre-data, then keys), as far as the target's catalogs say now. */
    record PreDataRestore(List<TocEntry> preData, List<TocEntry> keys, int keysPresent) {
        boolean preDataNeeded() {
            return !preData.isEmpty();
        }
    }

    /** Check mode: the plan, computed and reported, nothing run. */
    public ApplyResult check(MigrationId migration, ApplyRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        PreDataRestore plan = keys(plan(database, archive.manifest()), request);
        if (plan.preDataNeeded() && request.privileges()) {
            requireRoles(database, archive.manifest(), request);
        }
        return result(true, plan.preData(), plan.keys(), plan.preDataNeeded(), plan.keysPresent(), List.of());
    }

    /**
     * Checks synchronously what can be refused at once (no archive, no database, missing extensions, a partial
     * schema), then starts the job; the job plans again, since the target may change before it runs.
     */
    public JobView start(MigrationId migration, ApplyRequest request) {
        jobs.refuseIfBusy(STEP, migration);
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        PreDataRestore plan = plan(database, archive.manifest());
        if (plan.preDataNeeded() && request.privileges()) {
            requireRoles(database, archive.manifest(), request);
        }
        return jobs.submit(STEP, migration, request, progress -> apply(migration, database, request, progress));
    }

    /** Without keys when the request leaves them to the copy. */
    private static PreDataRestore keys(PreDataRestore plan, ApplyRequest request) {
        return request.keys() ? plan : new PreDataRestore(plan.preData(), List.of(), plan.keysPresent());
    }

    private ApplyResult apply(MigrationId migration, String database, ApplyRequest request, ProgressSink progress)
            throws IOException {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        Manifest manifest = archive.manifest();
        progress.report(0, 3, "checking the target's catalogs");
        PreDataRestore plan = plan(database, manifest);
        Restore restore = new Restore(process, Tools.forServer(pgTools, serverMajor(database)), archive.files());
        List<TocEntry> preData = plan.preData();
        List<String> privileges = List.of();
        if (!preData.isEmpty()) {
            progress.report(1, 3, "restoring " + preData.size() + " pre-data entries"
                    + (request.privileges() ? " with their owners and privileges" : ""));
            privileges = preData(database, restore.script(TocEntry.PRE_DATA, preData), manifest, request);
            plan = plan(database, manifest);
        }
        plan = keys(plan, request);
        if (!plan.keys().isEmpty()) {
            progress.report(2, 3, "restoring " + plan.keys().size() + " primary keys and replica identities");
            restore.run(database, TocEntry.POST_DATA, plan.keys(), ONE_TRANSACTION);
        }
        progress.report(3, 3, "done");
        return result(false, preData, plan.keys(), !preData.isEmpty(), plan.keysPresent(), privileges);
    }

    /**
     * The pre-data script and, with privileges, the statements that give the new objects the source's owners and
     * privileges, in one transaction: committed together or not at all.
     *
     * @return the privilege statements run
     */
    private List<String> preData(String database, String script, Manifest manifest, ApplyRequest request) {
        try (Connection c = connector.open(database, Restore.TIMEOUT, false)) {
            c.setAutoCommit(false);
            try {
                try (Statement st = c.createStatement()) {
                    // pg_restore's own text: no JDBC escapes to expand in it.
                    st.setEscapeProcessing(false);
                    st.execute(script);
                } catch (SQLException e) {
                    throw failed("restoring the pre-data failed; nothing was kept", e);
                }
                List<String> statements = List.of();
                if (request.privileges() && manifest.privileges() != null) {
                    try {
                        PrivilegePlanner.Result p = PrivilegePlanner.plan(c, manifest.privileges(), request.map());
                        PrivilegePlanner.execute(c, p.statements());
                        statements = p.statements();
                    } catch (SQLException e) {
                        throw failed("giving the restored objects the source's owners and privileges failed; "
                                + "the pre-data was rolled back with them", e);
                    }
                }
                c.commit();
                return statements;
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** PostgreSQL's own message names the object at fault; it never holds a secret (a schema has none). */
    private RuntimeException failed(String what, SQLException e) {
        String state = e.getSQLState();
        if (state == null || state.startsWith("08") || state.startsWith("57")) {
            return connector.translate(e);
        }
        String message = e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : "SQLSTATE " + state;
        return new ApiException(502, "pg_restore_failed", "pg_restore failed", what + ": " + message
                + " (SQLSTATE " + state + ")", null, List.of(), null);
    }

    /** @throws ApiException 422 {@code roles_missing} before any job starts */
    private void requireRoles(String database, Manifest manifest, ApplyRequest request) {
        if (manifest.privileges() == null) {
            return;
        }
        try (Connection c = connector.open(database, Duration.ofSeconds(30), true)) {
            PrivilegePlanner.requireRoles(c, manifest.privileges(), request.map());
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private ApplyResult result(boolean check, List<TocEntry> preData, List<TocEntry> keys, boolean preDataApplied,
                               int keysPresent, List<String> privileges) {
        List<String> queries = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        if (!preData.isEmpty()) {
            queries.add(Restore.describe(TocEntry.PRE_DATA, preData, List.of("--file=-"))
                    + " run in one transaction" + (privileges.isEmpty() ? "" : " with:"));
            queries.addAll(privileges);
            preData.forEach(e -> actions.add(e.describe()));
        }
        if (!keys.isEmpty()) {
            queries.add(Restore.describe(TocEntry.POST_DATA, keys, ONE_TRANSACTION));
            keys.forEach(e -> actions.add(e.describe()));
        }
        int keysApplied = (int) keys.stream().filter(e -> !"COMMENT".equals(e.desc())).count();
        return new ApplyResult(!actions.isEmpty(), check, queries, actions, preDataApplied ? "applied" : "present",
                new ApplyResult.KeyCounts(keysApplied, keysPresent));
    }

    PreDataRestore plan(String database, Manifest manifest) {
        try (Connection c = connector.open(database, Duration.ofMinutes(5), true)) {
            TargetCatalog target = new TargetCatalog(c);
            requireExtensions(manifest, target);
            List<TocEntry> preData = preData(manifest, target);
            List<TocEntry> keys = new ArrayList<>();
            int present = 0;
            for (TocEntry e : manifest.section(TocEntry.POST_DATA)) {
                if (!e.keyForReplication() || !TargetCatalog.checkable(e)) {
                    continue;
                }
                // Before pre-data no table exists: every key is missing, no need to ask.
                if (!preData.isEmpty() || !target.exists(e)) {
                    keys.add(e);
                } else {
                    present++;
                }
            }
            return new PreDataRestore(preData, TargetArchive.withComments(manifest, keys), present);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** @throws ApiException 422 {@code extensions_missing}, listing every extension the target cannot create */
    private static void requireExtensions(Manifest manifest, TargetCatalog target) throws SQLException {
        Set<String> installed = target.installedExtensions();
        Set<String> available = target.availableExtensions();
        List<String> missing = manifest.extensions().stream().map(ExtensionRef::name)
                .filter(n -> !installed.contains(n) && !available.contains(n)).sorted().toList();
        if (!missing.isEmpty()) {
            throw ApiException.unprocessable("extensions_missing", "the schema needs extensions this server "
                    + "cannot create: " + String.join(", ", missing) + "; install their packages on the target "
                    + "host (pg_available_extensions must list them) and retry", missing);
        }
        // pg_dump writes CREATE EXTENSION .. WITH SCHEMA: a schema outside the scope is not in the archive.
        Set<String> schemas = target.schemas();
        List<String> homeless = manifest.extensions().stream()
                .filter(x -> !installed.contains(x.name()) && x.schema() != null
                        && !manifest.schemas().contains(x.schema()) && !schemas.contains(x.schema()))
                .map(x -> x.name() + " (in schema " + Sql.ident(x.schema()) + ")").sorted().toList();
        if (!homeless.isEmpty()) {
            throw ApiException.unprocessable("extension_schema_missing", "the schema needs extensions that live, on "
                    + "the source, in schemas the migration's scope leaves out and this database lacks: "
                    + String.join(", ", homeless) + "; include those schemas in the scope (include_schemas; they "
                    + "then move with their owners and grants), or create them in the target database with the "
                    + "grants the source gives on them, then rerun", homeless);
        }
    }

    /**
     * Every pre-data entry, minus schemas and extensions the target has (and their comments), when none of the
     * manifest's tables exists; nothing when all exist.
     *
     * @throws ApiException 422 {@code target_schema_partial} when some but not all tables exist
     */
    private static List<TocEntry> preData(Manifest manifest, TargetCatalog target) throws SQLException {
        List<TocEntry> tables = manifest.section(TocEntry.PRE_DATA).stream()
                .filter(e -> "table".equals(e.type())).toList();
        List<String> present = new ArrayList<>();
        for (TocEntry t : tables) {
            if (target.exists(t)) {
                present.add(t.describe());
            }
        }
        if (!present.isEmpty() && present.size() < tables.size()) {
            throw ApiException.unprocessable("target_schema_partial", present.size() + " of the " + tables.size()
                    + " tables of the archive already exist in the target database and the others do not; "
                    + "pgferry restores the schema only into a database that has none or all of them. Drop "
                    + "the listed tables, or create the missing ones, and retry", present);
        }
        if (!tables.isEmpty() && present.size() == tables.size()) {
            return List.of();
        }
        Set<Integer> skipped = new HashSet<>();
        List<TocEntry> out = new ArrayList<>();
        for (TocEntry e : manifest.section(TocEntry.PRE_DATA)) {
            boolean existing = ("schema".equals(e.type()) || "extension".equals(e.type())) && target.exists(e);
            if (existing || (e.commentOn() != null && skipped.contains(e.commentOn()))) {
                skipped.add(e.id());
            } else {
                out.add(e);
            }
        }
        return out;
    }

    private int serverMajor(String database) {
        try (Connection c = connector.open(database, Duration.ofSeconds(30), true)) {
            return connector.serverVersion(c).major();
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
