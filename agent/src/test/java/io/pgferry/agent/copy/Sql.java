package io.pgferry.agent.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** SQL on a test cluster as its superuser, and the comparisons the copy tests make. */
final class Sql {
    private Sql() {
    }

    static void execute(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static long count(PgCluster cluster, String database, String sql) throws Exception {
        return Long.parseLong(text(cluster, database, sql));
    }

    static String text(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Every user index with its definition, by table: the copy builds the source's, under the source's names. */
    static Map<String, String> indexes(PgCluster cluster, String database) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("""
                     SELECT format('%I.%I', schemaname, indexname), indexdef FROM pg_indexes
                     WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    /**
     * Every user table's keys and unique constraints: definition, index, comment, and the roles of that index (clustered
     * on, replica identity), as the catalogs hold them.
     */
    static Map<String, String> keys(PgCluster cluster, String database) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("""
                     SELECT format('%I.%I.%I', n.nspname, t.relname, k.conname),
                            concat_ws(' | ', pg_get_constraintdef(k.oid), i.indexrelid::regclass::text,
                                      i.indisclustered, i.indisreplident, t.relreplident,
                                      obj_description(k.oid, 'pg_constraint'),
                                      pg_get_indexdef(i.indexrelid))
                     FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
                     JOIN pg_namespace n ON n.oid = t.relnamespace
                     JOIN pg_index i ON i.indexrelid = k.conindid
                     WHERE k.contype IN ('p', 'u') AND n.nspname NOT IN ('pg_catalog', 'information_schema')""")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    /** Row count and an order-free checksum of every table, computed by the server itself. */
    static Map<String, String> checksums(PgCluster cluster, String database) throws Exception {
        Map<String, String> sums = new TreeMap<>();
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("""
                    SELECT format('%I.%I', n.nspname, c.relname)
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'""")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            for (String t : tables) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) || ' ' || coalesce(md5(string_agg(h, '' "
                        + "ORDER BY h)), '-') FROM (SELECT md5(x::text) AS h FROM " + t + " x) s")) {
                    rs.next();
                    sums.put(t, rs.getString(1));
                }
            }
        }
        return sums;
    }

    /** Until both sides hold the same rows in every table (the stream may still be applying). */
    static void awaitEqual(PgCluster src, PgCluster dst, String database) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        Map<String, String> a = checksums(src, database);
        Map<String, String> b = checksums(dst, database);
        while (!a.equals(b) && Instant.now().isBefore(deadline)) {
            Thread.sleep(250);
            a = checksums(src, database);
            b = checksums(dst, database);
        }
        assertEquals(a, b, "row counts and checksums per table");
    }
}
