package io.pgferry.agent.schemaapply;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.schemaarchive.ExtensionRef;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.schemaarchive.TocEntry;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Creates the scope's schema on the target before the copy: pre-data in one transaction (all or nothing), then
 * the primary keys and replica-identity indexes logical replication needs to apply UPDATEs and DELETEs.
 * Secondary indexes, foreign keys and triggers wait for post-data, so the initial copy runs fast and unchecked.
 */
public final class SchemaApplyService {
    public static final String STEP = "schema-apply";
    private static final List<String> ONE_TRANSACTION = List.of("--single-transaction");

    private final PgConnector connector;
    private final InfoService info;
    private final PgProcess process;
    private final JobRunner jobs;
    private final Path stateDir;

    public SchemaApplyService(PgConnector connector, InfoService info, PgProcess process, JobRunner jobs,
                              Path stateDir) {
        this.connector = connector;
        this.info = info;
        this.process = process;
        this.jobs = jobs;
        this.stateDir = stateDir;
    }

    /** What the entries to restore are, as far as the target's catalogs say now. */
    record Plan(List<TocEntry> preData, List<TocEntry> keys, int keysPresent) {
        boolean preDataNeeded() {
            return !preData.isEmpty();
        }
    }

    /** Check mode: the plan, computed and reported, nothing run. */
    public ApplyResult check(MigrationId migration, ApplyRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        Plan plan = keys(plan(database, archive.manifest()), request);
        return result(true, plan.preData(), plan.keys(), plan.preDataNeeded(), plan.keysPresent());
    }

    /**
     * Checks synchronously what can be refused at once (no archive, no database, missing extensions, a partial
     * schema), then starts the job; the job plans again, since the target may change before it runs.
     */
    public JobView start(MigrationId migration, ApplyRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        plan(database, archive.manifest());
        return jobs.submit(STEP, migration, request, progress -> apply(migration, database, request, progress));
    }

    /** Without keys when the request leaves them to the copy. */
    private static Plan keys(Plan plan, ApplyRequest request) {
        return request.keys() ? plan : new Plan(plan.preData(), List.of(), plan.keysPresent());
    }

    private ApplyResult apply(MigrationId migration, String database, ApplyRequest request, ProgressSink progress)
            throws IOException {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        Manifest manifest = archive.manifest();
        progress.report(0, 3, "checking the target's catalogs");
        Plan plan = plan(database, manifest);
        Restore restore = new Restore(process, Tools.forServer(info, serverMajor(database)), archive.files());
        List<TocEntry> preData = plan.preData();
        if (!preData.isEmpty()) {
            progress.report(1, 3, "restoring " + preData.size() + " pre-data entries");
            restore.run(database, TocEntry.PRE_DATA, preData, ONE_TRANSACTION);
            plan = plan(database, manifest);
        }
        plan = keys(plan, request);
        if (!plan.keys().isEmpty()) {
            progress.report(2, 3, "restoring " + plan.keys().size() + " primary keys and replica identities");
            restore.run(database, TocEntry.POST_DATA, plan.keys(), ONE_TRANSACTION);
        }
        progress.report(3, 3, "done");
        return result(false, preData, plan.keys(), !preData.isEmpty(), plan.keysPresent());
    }

    private ApplyResult result(boolean check, List<TocEntry> preData, List<TocEntry> keys, boolean preDataApplied,
                               int keysPresent) {
        List<String> queries = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        if (!preData.isEmpty()) {
            queries.add(Restore.describe(TocEntry.PRE_DATA, preData, ONE_TRANSACTION));
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

    Plan plan(String database, Manifest manifest) {
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
            return new Plan(preData, TargetArchive.withComments(manifest, keys), present);
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
