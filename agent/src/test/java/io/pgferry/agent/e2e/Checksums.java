package io.pgferry.agent.e2e;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Row counts and order-free checksums (md5 over the sorted md5s of the rows' text), computed by each server
 * itself: equal exactly when both tables hold the same rows.
 */
final class Checksums {
    private Checksums() {
    }

    static Map<String, String> of(PgCluster cluster, String database, List<String> excludedSchemas)
            throws Exception {
        Map<String, String> sums = new TreeMap<>();
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("""
                    SELECT format('%I.%I', n.nspname, c.relname), n.nspname
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'""")) {
                while (rs.next()) {
                    if (!excludedSchemas.contains(rs.getString(2))) {
                        tables.add(rs.getString(1));
                    }
                }
            }
            for (String t : tables) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) || ' ' || coalesce(md5(string_agg(h, '' ORDER BY h)),"
                        + " '-') FROM (SELECT md5(x::text) AS h FROM " + t + " x) s")) {
                    rs.next();
                    sums.put(t, rs.getString(1));
                }
            }
        }
        return sums;
    }

    static long count(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void execute(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
