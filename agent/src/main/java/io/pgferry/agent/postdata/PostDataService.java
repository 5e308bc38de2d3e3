package io.pgferry.agent.postdata;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.ApplyTriggers;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.Deadlocks;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.privilegeset.ObjectPrivileges;
import io.pgferry.agent.privilegeset.PolicyRoles;
import io.pgferry.agent.privilegeset.PrivilegePlanner;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.Restore;
import io.pgferry.agent.schemaarchive.TargetArchive;
import io.pgferry.agent.schemaarchive.TargetCatalog;
import io.pgferry.agent.schemaarchive.TocEntry;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.subscription.SubscriptionService;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * After the copy: every post-data object the target lacks (indexes, constraints, triggers, rules, policies,
 * partition index attachments), restored in parallel, then materialized views refreshed and the tables without
 * statistics analyzed ({@link Statistics}). Rerunning restores only what is still missing, so a job cut short is
 * finished by running it again.
 *
 * <p>The objects already belong to their source owners (the schema apply gave them), so PostgreSQL runs index
 * expressions and a materialized view's query as that owner (security-restricted operations), not as the agent's
 * role. A policy naming a role the role map renames is created here with the target's name, as pg_restore could
 * only name the source's.
 */
public final class PostDataService {
    public static final String STEP = "post-data";
    /** REFRESH of a big view takes long; the job, not the client, waits. */
    private static final Duration REFRESH_TIMEOUT = Duration.ofHours(48);

    private final PgConnector connector;
    private final PgToolsCache pgTools;
    private final PgProcess process;
    private final JobRunner jobs;
    private final Path stateDir;

    public PostDataService(PgConnector connector, PgToolsCache pgTools, PgProcess process, JobRunner jobs,
                           Path stateDir) {
        this.connector = connector;
        this.pgTools = pgTools;
        this.process = process;
        this.jobs = jobs;
        this.stateDir = stateDir;
    }

    /**
     * What a post-data run restores and refreshes, as far as the target's catalogs say now.
     *
     * @param policies policies to create with mapped roles (the archive's text names the source's), with the
     *                 comments on them restored afterwards
     */
    record PostDataRestore(List<TocEntry> restore, int present, List<TocEntry> refresh, List<String> notRefreshed,
                           List<PolicyRoles> policies, List<TocEntry> policyComments, int unresolved,
                           List<TableRef> analyze) {
    }

    public PostDataResult check(MigrationId migration, PostDataRequest request) {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        List<String> tempering;
        try (Connection c = connector.open(database, Duration.ofMinutes(5), true)) {
            tempering = streaming(c, migration) ? new ApplyTriggers(stateDir, migration, database).temper(c,
                    t -> true, true) : List.of();
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        return result(true, plan(database, archive.manifest(), request), request, tempering);
    }

    /** Refuses at once what can be refused (no archive, no database, schema not applied), then starts the job. */
    public JobView start(MigrationId migration, PostDataRequest request) {
        jobs.refuseIfBusy(STEP, migration);
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        String database = DatabaseCheck.require(connector, request.database());
        plan(database, archive.manifest(), request);
        return jobs.submit(STEP, migration, request, progress -> run(migration, database, request, progress));
    }

    private PostDataResult run(MigrationId migration, String database, PostDataRequest request,
                               ProgressSink progress) throws IOException {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        PostDataRestore plan = plan(database, archive.manifest(), request);
        List<String> analyze = Statistics.statements(plan.analyze());
        int steps = plan.refresh().size() + analyze.size() + 1;
        Restore restore = new Restore(process, Tools.forServer(pgTools, serverMajor(database)), archive.files());
        Set<Integer> firingIds = new HashSet<>();
        plan.restore().stream().filter(PostDataService::firesOnRows).forEach(e -> firingIds.add(e.id()));
        List<TocEntry> firing = plan.restore().stream().filter(e -> firingIds.contains(e.id())
                || (e.commentOn() != null && firingIds.contains(e.commentOn()))).toList();
        List<TocEntry> rest = plan.restore().stream().filter(e -> !firing.contains(e)).toList();
        if (!rest.isEmpty()) {
            progress.report(0, steps, "restoring " + plan.restore().size() + " post-data entries");
            restore(database, request, archive, restore, rest);
        }
        List<String> tempering = triggers(migration, database, restore, firing);
        if (!plan.policies().isEmpty()) {
            try (Connection c = connector.open(database, REFRESH_TIMEOUT, false); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                for (PolicyRoles p : plan.policies()) {
                    st.execute(createPolicy(p, request.map()));
                }
                c.commit();
            } catch (SQLException e) {
                throw connector.translate(e);
            }
            if (!plan.policyComments().isEmpty()) {
                restore.run(database, TocEntry.POST_DATA, plan.policyComments(), List.of("--single-transaction"));
            }
        }
        try (Connection c = connector.open(database, REFRESH_TIMEOUT, false); Statement st = c.createStatement()) {
            // pg_dump restores ENABLE/FORCE ROW LEVEL SECURITY in post-data, after the subscription exists.
            SubscriptionService.runAsOwnerWhereNeeded(c, migration, serverMajor(database));
            int done = 1;
            for (TocEntry view : plan.refresh()) {
                progress.report(done++, steps, "refreshing materialized view " + Sql.qualified(view.schema(),
                        view.name()));
                st.execute("REFRESH MATERIALIZED VIEW " + Sql.qualified(view.schema(), view.name()));
            }
            for (String statement : analyze) {
                progress.report(done++, steps, "analyzing the tables without statistics");
                st.execute(statement);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        progress.report(steps, steps, "done");
        return result(false, plan, request, tempering);
    }

    /** The entries, again for those still missing after a deadlock ({@link Deadlocks}). */
    private void restore(String database, PostDataRequest request, TargetArchive archive, Restore restore,
                         List<TocEntry> entries) throws IOException {
        List<TocEntry> todo = entries;
        for (int attempt = 1; ; attempt++) {
            try {
                restore.run(database, TocEntry.POST_DATA, todo, options(request, todo.size()));
                return;
            } catch (ApiException e) {
                if (attempt == Deadlocks.ATTEMPTS || !Deadlocks.in(e)) {
                    throw e;
                }
            }
            Deadlocks.pause(attempt);
            Set<Integer> ids = new HashSet<>();
            todo.forEach(e -> ids.add(e.id()));
            todo = plan(database, archive.manifest(), request).restore().stream().filter(e -> ids.contains(e.id()))
                    .toList();
            if (todo.isEmpty()) {
                return;
            }
        }
    }

    private static boolean firesOnRows(TocEntry e) {
        return "TRIGGER".equals(e.desc());
    }

    private static boolean streaming(Connection c, MigrationId migration) throws SQLException {
        return Subscriptions.read(c, migration.objectName()).isPresent();
    }

    /**
     * Triggers (with their comments) in one transaction with their tempering ({@link ApplyTriggers}): an apply worker
     * writing meanwhile waits for the table's lock and never sees one ENABLE ALWAYS or REPLICA.
     *
     * @return the tempering statements run
     */
    private List<String> triggers(MigrationId migration, String database, Restore restore, List<TocEntry> entries)
            throws IOException {
        String script = entries.isEmpty() ? null : restore.script(TocEntry.POST_DATA, entries);
        for (int attempt = 1; ; attempt++) {
            try {
                return triggers(migration, database, script);
            } catch (SQLException e) {
                if (attempt == Deadlocks.ATTEMPTS || !Deadlocks.in(e)) {
                    throw triggersFailed(e);
                }
            }
            Deadlocks.pause(attempt);
        }
    }

    /** One attempt, in one transaction: all of it or none. */
    private List<String> triggers(MigrationId migration, String database, String script) throws SQLException {
        try (Connection c = connector.open(database, REFRESH_TIMEOUT, false)) {
            c.setAutoCommit(false);
            try {
                if (script != null) {
                    try (Statement st = c.createStatement()) {
                        // pg_restore's own text: no JDBC escapes to expand in it.
                        st.setEscapeProcessing(false);
                        st.execute(script);
                    }
                }
                List<String> tempering = streaming(c, migration) ? new ApplyTriggers(stateDir, migration, database)
                        .temper(c, t -> true, false) : List.of();
                c.commit();
                return tempering;
            } finally {
                c.rollback();
            }
        }
    }

    private RuntimeException triggersFailed(SQLException e) {
        String state = e.getSQLState();
        if (state == null || state.startsWith("08") || state.startsWith("57")) {
            return connector.translate(e);
        }
        String message = e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : "SQLSTATE " + state;
        return new ApiException(502, "pg_restore_failed", "pg_restore failed", "restoring the triggers failed; "
                + "none of them was kept: " + message + " (SQLSTATE " + state + ")", null, List.of(), null);
    }

    private static List<String> options(PostDataRequest request, int entries) {
        int jobs = Math.min(request.jobs(), entries);
        return jobs > 1 ? List.of("--jobs=" + jobs) : List.of();
    }

    private static PostDataResult result(boolean check, PostDataRestore plan, PostDataRequest request,
                                         List<String> tempering) {
        Map<String, Integer> restored = new TreeMap<>();
        List<String> actions = new ArrayList<>();
        for (TocEntry e : plan.restore()) {
            restored.merge(e.desc(), 1, Integer::sum);
            actions.add(e.describe());
        }
        List<String> queries = new ArrayList<>();
        if (!plan.restore().isEmpty()) {
            queries.add(Restore.describe(TocEntry.POST_DATA, plan.restore(), options(request,
                    plan.restore().size())));
        }
        queries.addAll(tempering);
        for (PolicyRoles p : plan.policies()) {
            queries.add(createPolicy(p, request.map()));
            actions.add("POLICY " + Sql.ident(p.name()) + " ON " + Sql.qualified(p.schema(), p.table())
                    + " (roles mapped)");
        }
        List<String> refreshed = new ArrayList<>();
        for (TocEntry v : plan.refresh()) {
            String sql = "REFRESH MATERIALIZED VIEW " + Sql.qualified(v.schema(), v.name());
            queries.add(sql);
            refreshed.add(Sql.qualified(v.schema(), v.name()));
        }
        queries.addAll(Statistics.statements(plan.analyze()));
        return new PostDataResult(!queries.isEmpty(), check, queries, actions, restored, plan.present(), refreshed,
                plan.notRefreshed(), plan.unresolved(), plan.analyze().stream().map(TableRef::quoted).toList());
    }

    /** The policy as the source defines it, naming the target's roles; its expressions are fully qualified. */
    static String createPolicy(PolicyRoles p, RoleMap map) {
        String command = switch (p.command()) {
            case "r" -> "SELECT";
            case "a" -> "INSERT";
            case "w" -> "UPDATE";
            case "d" -> "DELETE";
            case "*" -> "ALL";
            default -> throw new IllegalArgumentException("unknown policy command " + p.command());
        };
        return "CREATE POLICY " + Sql.ident(p.name()) + " ON " + Sql.qualified(p.schema(), p.table()) + " AS "
                + (p.permissive() ? "PERMISSIVE" : "RESTRICTIVE") + " FOR " + command + " TO "
                + PrivilegePlanner.policyRoles(p.roles(), map) + (p.using() == null ? "" : " USING (" + p.using()
                + ")") + (p.withCheck() == null ? "" : " WITH CHECK (" + p.withCheck() + ")");
    }

    /** @throws ApiException 422 {@code schema_not_applied} when tables of the manifest are missing */
    PostDataRestore plan(String database, Manifest manifest, PostDataRequest request) {
        PrivilegeSet privileges = manifest.privileges();
        Map<List<String>, PolicyRoles> renamed = new HashMap<>();
        Map<List<String>, String> owners = new HashMap<>();
        if (privileges != null) {
            for (PolicyRoles p : privileges.policies()) {
                if (p.roles().stream().anyMatch(r -> r != null && !r.equals(request.map().target(r)))) {
                    renamed.put(List.of(p.schema(), p.table(), p.name()), p);
                }
            }
            for (ObjectPrivileges o : privileges.objects()) {
                if (o.type().equals("materialized view")) {
                    owners.put(o.names(), o.owner());
                }
            }
        }
        try (Connection c = connector.open(database, Duration.ofMinutes(5), true)) {
            TargetCatalog target = new TargetCatalog(c);
            List<String> missingTables = new ArrayList<>();
            List<TocEntry> refresh = new ArrayList<>();
            List<String> notRefreshed = new ArrayList<>();
            for (TocEntry e : manifest.section(TocEntry.PRE_DATA)) {
                if ("table".equals(e.type()) && !target.exists(e)) {
                    missingTables.add(e.describe());
                } else if ("materialized view".equals(e.type()) && Boolean.TRUE.equals(e.populated())
                        && target.exists(e) && !target.populated(e)) {
                    String owner = owners.get(List.of(e.schema(), e.name()));
                    if (!request.privileges() && owner != null && !privileges.superusers().contains(owner)) {
                        // Its query would run as the agent's role, the owner here: maybe a superuser.
                        notRefreshed.add(Sql.qualified(e.schema(), e.name()) + ": owned on the source by " + owner
                                + ", not a superuser; with privileges off it belongs to the agent's role here, "
                                + "and a refresh would run its query with that role's rights. Make " + owner
                                + " its owner on the target and refresh it as " + owner);
                    } else {
                        refresh.add(e);
                    }
                }
            }
            if (!missingTables.isEmpty()) {
                throw ApiException.unprocessable("schema_not_applied", missingTables.size() + " tables of the "
                        + "archive are missing in the target database; run schema-apply first", missingTables);
            }
            List<TocEntry> missing = new ArrayList<>();
            List<TocEntry> mappedPolicies = new ArrayList<>();
            List<PolicyRoles> policies = new ArrayList<>();
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
                } else if ("policy".equals(e.type()) && renamed.containsKey(List.of(e.schema(), e.table(),
                        e.name()))) {
                    mappedPolicies.add(e);
                    policies.add(renamed.get(List.of(e.schema(), e.table(), e.name())));
                } else {
                    missing.add(e);
                }
            }
            List<TocEntry> policyComments = TargetArchive.withComments(manifest, mappedPolicies).stream()
                    .filter(e -> "COMMENT".equals(e.desc())).toList();
            return new PostDataRestore(TargetArchive.withComments(manifest, missing), present, refresh,
                    notRefreshed, policies, policyComments, unresolved,
                    Statistics.missing(c, manifest.tables(), connector.serverVersion(c).major()));
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
