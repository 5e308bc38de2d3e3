package io.pgferry.agent.safety;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a refused request must not change, read from the catalogs: relations (with replica identity and ACLs),
 * schemas, publications and their tables in every database, and the cluster-wide slots, subscriptions, roles
 * (with their password verifiers) and databases.
 */
final class CatalogSnapshot {
    private static final List<String> PER_DATABASE = List.of(
            "SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || c.relreplident::text || ':'"
                    + " || coalesce(c.relacl::text, '-'), E'\\n' ORDER BY n.nspname, c.relname)"
                    + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'",
            "SELECT string_agg(nspname || ':' || coalesce(nspacl::text, '-'), E'\\n' ORDER BY nspname)"
                    + " FROM pg_namespace WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'",
            "SELECT string_agg(pubname || ':' || puballtables || pubinsert || pubupdate || pubdelete"
                    + " || pubviaroot, E'\\n' ORDER BY pubname) FROM pg_publication",
            "SELECT string_agg(p.pubname || ':' || r.prrelid::regclass::text, E'\\n' ORDER BY 1)"
                    + " FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid");
    private static final List<String> CLUSTER_WIDE = List.of(
            "SELECT string_agg(slot_name || ':' || slot_type || ':' || coalesce(database, '-'), E'\\n' ORDER BY 1)"
                    + " FROM pg_replication_slots",
            "SELECT string_agg(subname || ':' || subenabled || ':' || coalesce(subslotname, '-'), E'\\n' ORDER BY 1)"
                    + " FROM pg_subscription",
            "SELECT string_agg(rolname || ':' || rolsuper || rolreplication || rolcanlogin || rolcreatedb || ':'"
                    + " || coalesce(rolpassword, '-'), E'\\n' ORDER BY rolname) FROM pg_authid",
            "SELECT string_agg(datname || ':' || datdba::regrole::text || ':' || pg_encoding_to_char(encoding)"
                    + " || ':' || coalesce(datacl::text, '-'), E'\\n' ORDER BY datname) FROM pg_database");

    private CatalogSnapshot() {
    }

    static Map<String, String> of(PgCluster... clusters) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        for (PgCluster cluster : clusters) {
            List<String> databases = new ArrayList<>();
            try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
                for (int i = 0; i < CLUSTER_WIDE.size(); i++) {
                    out.put(cluster.name() + "/" + i, one(st, CLUSTER_WIDE.get(i)));
                }
                try (ResultSet rs = st.executeQuery(
                        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")) {
                    while (rs.next()) {
                        databases.add(rs.getString(1));
                    }
                }
            }
            for (String db : databases) {
                try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
                    for (int i = 0; i < PER_DATABASE.size(); i++) {
                        out.put(cluster.name() + "/" + db + "/" + i, one(st, PER_DATABASE.get(i)));
                    }
                }
            }
        }
        return out;
    }

    private static String one(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return String.valueOf(rs.getString(1));
        }
    }
}
