package io.pgferry.agent.materializedviews;

import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Materialized views are not replicated: at the cutover (before the pause, so no client waits and no reader of the
 * view on the target is locked out) the side clients go to refreshes every view the other side holds populated.
 * PostgreSQL runs a view's query as the view's owner, so a view owned here by a superuser is refreshed only when the
 * other side's owner is that same superuser - never does pgferry run a user's query with rights its owner lacked.
 */
public final class MaterializedViewsService {
    public static final String STEP = "materialized-views";
    private static final Duration TIMEOUT = Duration.ofHours(12);
    /** The views of the schemas, their owner, whether it is a superuser, whether they hold data, a usable unique index. */
    private static final String VIEWS = """
            SELECT n.nspname, c.relname, r.rolname, r.rolsuper, c.relispopulated,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
                           AND i.indpred IS NULL AND i.indexprs IS NULL), c.oid
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
             WHERE c.relkind = 'm' AND n.nspname = ANY (?) ORDER BY c.oid""";
    /** Which views each view's query reads (a view over a view is refreshed after it). */
    private static final String READS = """
            SELECT DISTINCT w.ev_class, d.refobjid FROM pg_rewrite w
              JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                              AND d.refclassid = 'pg_class'::regclass
             WHERE w.ev_class = ANY (?::oid[]) AND d.refobjid = ANY (?::oid[]) AND d.refobjid <> w.ev_class""";

    private record Here(MaterializedView view, boolean uniqueIndex, long oid) {
    }

    private final PgConnector connector;
    private final JobRunner jobs;
    private final ManifestScopes scopes;

    public MaterializedViewsService(PgConnector connector, JobRunner jobs, ManifestScopes scopes) {
        this.connector = connector;
        this.jobs = jobs;
        this.scopes = scopes;
    }

    /** The views of the migration's schemas on this side. */
    public List<MaterializedView> read(MigrationId migration, String database) {
        ManifestScope scope = scopes.read(migration);
        try (Connection c = Steps.open(connector, database, Duration.ofSeconds(60), true)) {
            return views(c, scope.schemas()).stream().map(Here::view).toList();
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    public Refreshed check(MigrationId migration, RefreshRequest request) {
        return refresh(migration, request, true, (done, total, message) -> {
        });
    }

    public JobView start(MigrationId migration, RefreshRequest request) {
        scopes.read(migration); // 404 at once, not in the job
        return jobs.submit(STEP, migration, request, progress -> refresh(migration, request, false, progress));
    }

    private Refreshed refresh(MigrationId migration, RefreshRequest request, boolean check, ProgressSink progress) {
        ManifestScope scope = scopes.read(migration);
        Map<List<String>, MaterializedView> there = new HashMap<>();
        request.source().forEach(v -> there.put(List.of(v.schema(), v.name()), v));
        // Writable even when fenced: at a rollback the old source refreshes before clients come back.
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            List<String> queries = new ArrayList<>();
            List<String> refreshed = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            List<Here> todo = new ArrayList<>();
            for (Here h : ordered(c, views(c, scope.schemas()))) {
                MaterializedView here = h.view();
                MaterializedView source = there.get(List.of(here.schema(), here.name()));
                if (source == null || !source.populated()) {
                    continue; // not on the other side, or kept empty there: nothing to bring in line
                }
                if (here.ownerSuperuser() && !(source.ownerSuperuser() && source.owner().equals(here.owner()))) {
                    skipped.add(here.quoted() + ": owned here by the superuser " + here.owner() + " but on the other "
                            + "side by " + source.owner() + ", not that superuser; its query would run with rights "
                            + source.owner() + " lacks. Give it its owner (the privileges step), then run this again");
                    continue;
                }
                todo.add(h);
            }
            int done = 0;
            for (Here h : todo) {
                MaterializedView v = h.view();
                progress.report(done++, todo.size(), "refreshing " + v.quoted());
                boolean concurrently = h.uniqueIndex() && v.populated();
                String sql = "REFRESH MATERIALIZED VIEW " + (concurrently ? "CONCURRENTLY " : "") + v.quoted();
                queries.add(sql);
                if (!check) {
                    try (Statement st = c.createStatement()) {
                        st.execute(sql);
                    }
                }
                refreshed.add(v.quoted());
            }
            progress.report(todo.size(), todo.size(), "done");
            return new Refreshed(!queries.isEmpty(), check, queries, refreshed, skipped);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private static List<Here> views(Connection c, List<String> schemas) throws SQLException {
        List<Here> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(VIEWS)) {
            ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Here(new MaterializedView(rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.getBoolean(4), rs.getBoolean(5)), rs.getBoolean(6), rs.getLong(7)));
                }
            }
        }
        return out;
    }

    /** Each view after the views its query reads. */
    private static List<Here> ordered(Connection c, List<Here> views) throws SQLException {
        Map<Long, Here> byOid = new LinkedHashMap<>();
        views.forEach(h -> byOid.put(h.oid(), h));
        Map<Long, Set<Long>> reads = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(READS)) {
            Long[] oids = byOid.keySet().toArray(Long[]::new);
            ps.setArray(1, c.createArrayOf("bigint", oids));
            ps.setArray(2, c.createArrayOf("bigint", oids));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    reads.computeIfAbsent(rs.getLong(1), k -> new LinkedHashSet<>()).add(rs.getLong(2));
                }
            }
        }
        Set<Long> placed = new LinkedHashSet<>();
        for (Long oid : byOid.keySet()) {
            place(oid, reads, placed, new LinkedHashSet<>());
        }
        return placed.stream().map(byOid::get).toList();
    }

    private static void place(Long oid, Map<Long, Set<Long>> reads, Set<Long> placed, Set<Long> visiting) {
        if (placed.contains(oid) || !visiting.add(oid)) {
            return;
        }
        for (Long first : reads.getOrDefault(oid, Set.of())) {
            place(first, reads, placed, visiting);
        }
        placed.add(oid);
    }
}
