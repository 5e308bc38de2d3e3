package io.pgferry.agent.schemaapply;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** The objects of a database, as comparable text, read straight from its catalogs (not through the agent). */
final class Catalogs {
    /** Every user object the schema steps move; NOT NULL constraints (catalogued only from 18 on) left out. */
    private static final String OBJECTS = """
            WITH rel AS (
              SELECT c.oid, c.relkind, c.relrowsecurity, c.relispopulated,
                     quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS ident
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                 AND d.objid = c.oid AND d.deptype = 'e'))
            SELECT 'relation ' || r.relkind::text || ' ' || r.ident || coalesce(' on ' || t.ident, '')
                   || CASE WHEN r.relrowsecurity THEN ' rls' ELSE '' END
                   || CASE WHEN r.relkind = 'm' AND r.relispopulated THEN ' populated' ELSE '' END
                   || CASE WHEN i.indisreplident THEN ' replica identity' ELSE '' END
              FROM rel r LEFT JOIN pg_index i ON i.indexrelid = r.oid LEFT JOIN rel t ON t.oid = i.indrelid
             WHERE r.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')
            UNION ALL
            SELECT 'constraint ' || t.ident || ' ' || quote_ident(x.conname) || ' ' || x.contype::text
                   || CASE WHEN x.condeferrable THEN ' deferrable' ELSE '' END
              FROM pg_constraint x JOIN rel t ON t.oid = x.conrelid WHERE x.contype <> 'n'
            UNION ALL
            SELECT 'trigger ' || t.ident || ' ' || quote_ident(x.tgname)
              FROM pg_trigger x JOIN rel t ON t.oid = x.tgrelid WHERE NOT x.tgisinternal
            UNION ALL
            SELECT 'rule ' || t.ident || ' ' || quote_ident(x.rulename)
              FROM pg_rewrite x JOIN rel t ON t.oid = x.ev_class WHERE x.rulename <> '_RETURN'
            UNION ALL
            SELECT 'policy ' || t.ident || ' ' || quote_ident(x.polname)
              FROM pg_policy x JOIN rel t ON t.oid = x.polrelid
            UNION ALL
            SELECT 'comment ' || o.type || ' ' || o.identity || ' ' || d.description
              FROM pg_description d CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
             WHERE o.schema IS NOT NULL AND o.schema NOT IN ('pg_catalog', 'information_schema')""";

    private Catalogs() {
    }

    /** @param leaveOut rows containing any of these strings are left out (objects out of scope) */
    static Set<String> objects(PgCluster cluster, String database, List<String> leaveOut) throws Exception {
        Set<String> out = new TreeSet<>();
        try (Connection c = cluster.connect(database); PreparedStatement ps = c.prepareStatement(OBJECTS);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String row = rs.getString(1);
                if (leaveOut.stream().noneMatch(row::contains)) {
                    out.add(row);
                }
            }
        }
        return out;
    }

    static Set<String> schemas(PgCluster cluster, String database) throws Exception {
        Set<String> out = new TreeSet<>();
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT nspname FROM pg_namespace")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static void execute(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
