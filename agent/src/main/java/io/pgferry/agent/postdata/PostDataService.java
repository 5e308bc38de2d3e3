package io.pgferry.agent.postdata;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.schemaapply.Restore;
import io.pgferry.agent.schemaapply.TargetArchive;
import io.pgferry.agent.schemaapply.TargetCatalog;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.schemaarchive.TocEntry;
import io.pgferry.agent.sql.Sql;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * After the copy: every post-data object the target lacks (indexes, constraints, triggers, rules, policies,
 * partition index attachments), restored in parallel, then materialized views refreshed. Rerunning restores
 * only what is still missing, so a job cut short is finished by running it again.
 */
public final class PostDataService {
    public static final String STEP = "post-data";
    /** REFRESH of a big view takes long; the job, not the client, waits. */
    private static final Duration REFRESH_TIMEOUT = Duration.ofHours(48);

    private final PgConnector connector;
    private final InfoService info;
    private final PgProcess process;
    private final JobRunner jobs;
    private final Path stateDir;

    public PostDataService(PgConnector connector, InfoService info, PgProcess process, JobRunner jobs,
                           Path stateDir) {
        this.connector = connector;
        this.info = info;
        this.process = process;
        this.jobs = jobs;
        this.stateDir = stateDir;
    }

    record Plan(List<TocEntry> restore, int present, List<TocEntry> refresh, int unresolved) {
    }

    public PostDataResult check(MigrationId migration, PostDataRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        return result(true, plan(database, archive.manifest()), request);
    }

    /** Refuses at once what can be refused (no archive, no database, schema not applied), then starts the job. */
    public JobView start(MigrationId migration, PostDataRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        plan(database, archive.manifest());
        return jobs.submit(STEP, migration, request, progress -> run(migration, database, request, progress));
    }

    private PostDataResult run(MigrationId migration, String database, PostDataRequest request,
                               ProgressSink progress) throws IOException {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        Plan plan = plan(database, archive.manifest());
        int steps = plan.refresh().size() + 1;
        if (!plan.restore().isEmpty()) {
            progress.report(0, steps, "restoring " + plan.restore().size() + " post-data entries");
            Restore restore = new Restore(process, Tools.forServer(info, serverMajor(database)), archive.files());
            restore.run(database, TocEntry.POST_DATA, plan.restore(), options(request, plan));
        }
        try (Connection c = connector.open(database, REFRESH_TIMEOUT, false); Statement st = c.createStatement()) {
            int done = 1;
            for (TocEntry view : plan.refresh()) {
                progress.report(done++, steps, "refreshing materialized view " + Sql.qualified(view.schema(),
                        view.name()));
                st.execute("REFRESH MATERIALIZED VIEW " + Sql.qualified(view.schema(), view.name()));
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        progress.report(steps, steps, "done");
        return result(false, plan, request);
    }

    private static List<String> options(PostDataRequest request, Plan plan) {
        int jobs = Math.min(request.jobs(), plan.restore().size());
        return jobs > 1 ? List.of("--jobs=" + jobs) : List.of();
    }

    private static PostDataResult result(boolean check, Plan plan, PostDataRequest request) {
        Map<String, Integer> restored = new TreeMap<>();
        List<String> actions = new ArrayList<>();
        for (TocEntry e : plan.restore()) {
            restored.merge(e.desc(), 1, Integer::sum);
            actions.add(e.describe());
        }
        List<String> queries = new ArrayList<>();
        if (!plan.restore().isEmpty()) {
            queries.add(Restore.describe(TocEntry.POST_DATA, plan.restore(), options(request, plan)));
        }
        List<String> refreshed = new ArrayList<>();
        for (TocEntry v : plan.refresh()) {
            String sql = "REFRESH MATERIALIZED VIEW " + Sql.qualified(v.schema(), v.name());
            queries.add(sql);
            refreshed.add(Sql.qualified(v.schema(), v.name()));
        }
        return new PostDataResult(!queries.isEmpty(), check, queries, actions, restored, plan.present(), refreshed,
                plan.unresolved());
    }

    /** @throws ApiException 422 {@code schema_not_applied} when tables of the manifest are missing */
    Plan plan(String database, Manifest manifest) {
        try (Connection c = connector.open(database, Duration.ofMinutes(5), true)) {
            TargetCatalog target = new TargetCatalog(c);
            List<String> missingTables = new ArrayList<>();
            List<TocEntry> refresh = new ArrayList<>();
            for (TocEntry e : manifest.section(TocEntry.PRE_DATA)) {
                if ("table".equals(e.type()) && !target.exists(e)) {
                    missingTables.add(e.describe());
                } else if ("materialized view".equals(e.type()) && Boolean.TRUE.equals(e.populated())
                        && target.exists(e) && !target.populated(e)) {
                    refresh.add(e);
                }
            }
            if (!missingTables.isEmpty()) {
                throw ApiException.unprocessable("schema_not_applied", missingTables.size() + " tables of the "
                        + "archive are missing in the target database; run schema-apply first", missingTables);
            }
            List<TocEntry> missing = new ArrayList<>();
            int present = 0;
            int unresolved = 0;
            for (TocEntry e : manifest.section(TocEntry.POST_DATA)) {
                if ("COMMENT".equals(e.desc())) {
                    continue;
                }
                if (!TargetCatalog.checkable(e)) {
                    unresolved++;
                } else if (target.exists(e)) {
                    present++;
                } else {
                    missing.add(e);
                }
            }
            return new Plan(TargetArchive.withComments(manifest, missing), present, refresh, unresolved);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private int serverMajor(String database) {
        try (Connection c = connector.open(database, Duration.ofSeconds(30), true)) {
            return connector.serverVersion(c).major();
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
