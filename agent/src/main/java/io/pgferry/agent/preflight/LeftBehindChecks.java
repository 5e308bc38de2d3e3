package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a migration does not move, kind by kind, with the objects named: read by the preflight before anything
 * changes, and again at the end of the migrate and cutover playbooks ({@code GET left-behind}), so nothing is found
 * missing later. Each kind is a warning: the migration works, and the operator decides. docs/design.md, "What moves
 * and what does not", lists what catches each.
 */
public final class LeftBehindChecks {
    private static final String QUOTED = "'\"' || replace(%1$s, '\"', '\"\"') || '\".\"' || replace(%2$s, '\"', "
            + "'\"\"') || '\"'";
    private static final String REL = QUOTED.formatted("n.nspname", "c.relname");

    /**
     * @param unloggedTables {@code refuse} or {@code empty} ({@link UnloggedTables})
     * @param refreshMaterializedViews whether the cutover refreshes materialized views after clients resume
     */
    public record Options(String unloggedTables, boolean refreshMaterializedViews) {
    }

    private final Connection c;
    private final List<String> schemas;
    private final List<TableRef> tables;
    private final Options options;
    private final List<Finding> out = new ArrayList<>();

    private LeftBehindChecks(Connection c, List<String> schemas, List<TableRef> tables, Options options) {
        this.c = c;
        this.schemas = schemas;
        this.tables = tables;
        this.options = options;
    }

    /** Every kind of object in (or around) the scope whose contents or existence the migration does not carry. */
    public static List<Finding> read(Connection c, List<String> schemas, List<TableRef> tables, Options options)
            throws SQLException {
        LeftBehindChecks checks = new LeftBehindChecks(c, schemas, tables, options);
        checks.unloggedRows();
        checks.materializedViews();
        checks.foreignTables();
        checks.eventTriggers();
        checks.publications();
        checks.subscriptions();
        checks.replicationSlots();
        checks.tablespaces();
        checks.extensionConfigTables();
        checks.cronJobs();
        return List.copyOf(checks.out);
    }

    private void unloggedRows() throws SQLException {
        if (!UnloggedTables.EMPTY.equals(options.unloggedTables())) {
            return; // refused: the preflight's unlogged_tables error says so
        }
        List<String> unlogged = strings("SELECT " + REL + """
                 FROM unnest(?::text[], ?::text[]) AS t(nsp, rel)
                 JOIN pg_namespace n ON n.nspname = t.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.rel
                WHERE c.relpersistence = 'u' AND c.relkind = 'r' ORDER BY 1""", tableSchemas(), tableNames());
        warn("unlogged_tables", unlogged, "unlogged tables write no WAL, so their rows cannot replicate; as asked "
                + "(unlogged_tables: empty) they are created on the target, with their indexes, but EMPTY - their "
                + "rows stay on the source, and at a rollback the old source keeps the rows it had at the cutover",
                "if the rows matter, make the tables logged before the migration (ALTER TABLE .. SET LOGGED), or "
                + "fill them on the target after the cutover (they usually hold what the application rebuilds: "
                + "caches, sessions)");
    }

    private void materializedViews() throws SQLException {
        List<String> views = strings("SELECT " + REL + " FROM pg_class c JOIN pg_namespace n ON n.oid = "
                + "c.relnamespace WHERE c.relkind = 'm' AND n.nspname = ANY (?) ORDER BY 1", (Object) schemaArray());
        if (options.refreshMaterializedViews()) {
            warn("materialized_views", views, "materialized views are not replicated: their definitions move with "
                    + "the schema, post-data fills those populated on the source once, and, as asked "
                    + "(refresh_materialized_views), the cutover refreshes them on the target after clients resume "
                    + "(CONCURRENTLY where a unique index allows; as each view's owner, never as a superuser "
                    + "unless it is owned by one on the source too)", "nothing to do");
        } else {
            warn("materialized_views", views, "materialized views are not replicated: their definitions move with "
                    + "the schema and post-data fills those populated on the source once, after the initial copy; "
                    + "what the source's tables receive afterwards does not reach them until they are refreshed",
                    "let the cutover refresh them (pgferry_cutover_refresh_materialized_views: true), or refresh "
                    + "them on the target after the cutover as you do on the source");
        }
    }

    private void foreignTables() throws SQLException {
        List<String> foreign = strings("SELECT " + REL + " || ' (server ' || quote_ident(s.srvname) || ')' "
                + "FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid JOIN pg_namespace n ON n.oid = "
                + "c.relnamespace JOIN pg_foreign_server s ON s.oid = f.ftserver WHERE n.nspname = ANY (?) "
                + "ORDER BY 1", (Object) schemaArray());
        warn("foreign_tables", foreign, "foreign tables move as definitions only: their data stays where the "
                + "foreign server keeps it, and the server, its user mappings and the wrapper's extension are not "
                + "part of the schema archive (they belong to the database, not to a schema)", "create the foreign "
                + "servers and user mappings named here on the target before the schema apply (CREATE SERVER .., "
                + "CREATE USER MAPPING ..), with addresses that work from the target");
    }

    private void eventTriggers() throws SQLException {
        List<String> triggers = strings("""
                SELECT quote_ident(e.evtname) || ' (' || e.evtevent || ')' FROM pg_event_trigger e
                 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass
                                   AND d.objid = e.oid AND d.deptype = 'e')
                 ORDER BY 1""");
        warn("event_triggers", triggers, "event triggers belong to the database, not to a schema: they are not "
                + "moved", "create them on the target (CREATE EVENT TRIGGER ..) if they are still needed");
    }

    private void publications() throws SQLException {
        List<String> pubs = strings("SELECT quote_ident(pubname) FROM pg_publication WHERE pubname NOT LIKE "
                + "'pgferry\\_%' ORDER BY 1");
        warn("publications", pubs, "publications of the database's own (not pgferry's) are not moved: "
                + "subscribers elsewhere keep reading the source, which stops changing at the cutover",
                "create them on the target and point their subscribers at it after the cutover");
    }

    private void subscriptions() throws SQLException {
        List<String> subs = strings("SELECT quote_ident(subname) FROM pg_subscription WHERE subdbid = (SELECT oid "
                + "FROM pg_database WHERE datname = current_database()) AND subname NOT LIKE 'pgferry\\_%' "
                + "ORDER BY 1");
        warn("subscriptions", subs, "subscriptions in this database are not moved: after the cutover the target "
                + "does not receive what their publishers send", "create them on the target (with copy_data = "
                + "false, from the position the source reached) and drop or disable them on the source");
    }

    private void replicationSlots() throws SQLException {
        List<String> slots = strings("SELECT quote_ident(slot_name) || ' (' || coalesce(plugin, slot_type) || ')' "
                + "FROM pg_replication_slots WHERE database = current_database() AND slot_name NOT LIKE "
                + "'pgferry\\_%' ORDER BY 1");
        warn("replication_slots", slots, "logical replication slots of this database (change-data-capture "
                + "consumers, other subscriptions) are not moved: their consumers see nothing written on the "
                + "target", "after the cutover, point those consumers at the target with a new slot there");
    }

    private void tablespaces() throws SQLException {
        List<String> placed = strings("""
                SELECT quote_ident(t.spcname) || ': ' || count(*) || ' relation(s), e.g. ' || min(%s)
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_tablespace t ON t.oid = c.reltablespace
                 WHERE n.nspname = ANY (?) AND c.relkind IN ('r', 'p', 'i', 'I', 'm')
                 GROUP BY t.spcname
                UNION ALL
                SELECT 'database ' || quote_ident(current_database()) || ' itself: ' || quote_ident(t.spcname)
                  FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
                 WHERE d.datname = current_database() AND t.spcname <> 'pg_default'
                 ORDER BY 1""".formatted(REL), (Object) schemaArray());
        warn("tablespaces", placed, "tablespaces are the server's, not the database's: the schema apply creates "
                + "these relations in a tablespace of the same name, which must exist on the target (or the "
                + "schema apply fails), and the target database is created in the target's default tablespace",
                "create the tablespaces on the target first (CREATE TABLESPACE .. LOCATION ..), where its disks "
                + "are; or move the relations to pg_default on the source before the schema archive");
    }

    private void extensionConfigTables() throws SQLException {
        List<String> config = strings("""
                SELECT quote_ident(e.extname) || ': ' || string_agg(x.oid::regclass::text, ', ' ORDER BY x.oid::regclass::text)
                  FROM pg_extension e CROSS JOIN LATERAL unnest(e.extconfig) AS x(oid)
                 GROUP BY e.extname ORDER BY 1""");
        warn("extension_config_tables", config, "rows users add to extensions' configuration tables (marked with "
                + "pg_extension_config_dump) are not moved: the extension is created anew on the target, with "
                + "only the rows its install script writes", "copy the rows you added (COPY .. TO / FROM, or "
                + "pg_dump --data-only --table of those tables) to the target after the schema apply");
    }

    private void cronJobs() throws SQLException {
        // pg_settings, not current_setting(): it hides what the role may not see instead of failing.
        List<String> cron = strings("""
                SELECT 'pg_cron, its jobs in database ' || quote_ident(coalesce((SELECT setting FROM pg_settings
                       WHERE name = 'cron.database_name'), 'postgres'))
                 WHERE EXISTS (SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries'
                               AND 'pg_cron' = ANY (string_to_array(replace(setting, ' ', ''), ',')))
                    OR EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')""");
        warn("cron_jobs", cron, "pg_cron keeps its jobs in one database of the server (cron.job), not in the "
                + "migrated database: jobs that run in this database stay on the source server and keep running "
                + "there", "recreate on the target server the jobs that run in this database (cron.schedule_in_"
                + "database), and unschedule them on the source after the cutover");
    }

    private void warn(String code, List<String> objects, String message, String fix) {
        if (!objects.isEmpty()) {
            out.add(new Finding(code, Finding.WARNING, objects, message, fix));
        }
    }

    private String[] schemaArray() {
        return schemas.toArray(String[]::new);
    }

    private String[] tableSchemas() {
        return tables.stream().map(TableRef::schema).toArray(String[]::new);
    }

    private String[] tableNames() {
        return tables.stream().map(TableRef::name).toArray(String[]::new);
    }

    private List<String> strings(String sql, Object... params) throws SQLException {
        List<String> result = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                st.setArray(i + 1, c.createArrayOf("text", (Object[]) params[i]));
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    result.add(rs.getString(1));
                }
            }
        }
        return result;
    }
}
