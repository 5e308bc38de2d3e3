package io.pgferry.agent.preflight;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Small read helpers shared by the source and target checks. */
final class Catalog {
    private Catalog() {
    }

    /**
     * Makes every later transaction of the session read-only: pgjdbc's read-only flag only applies to explicit
     * transactions, and a preflight must never change anything, whatever a bug in it would try.
     */
    static void readOnly(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET default_transaction_read_only = on");
            st.execute("SET statement_timeout = '30s'");
        }
    }

    /** The settings asked for that exist on this server (e.g. rds.logical_replication only on RDS). */
    static Map<String, String> settings(Connection c, String... names) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement st = c.prepareStatement("SELECT name, setting FROM pg_settings WHERE name = ANY (?)")) {
            st.setArray(1, c.createArrayOf("text", names));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    static long count(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            bind(c, st, params);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** The first column of every row, as text. */
    static List<String> strings(Connection c, String sql, Object... params) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(sql)) {
            bind(c, st, params);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static void bind(Connection c, PreparedStatement st, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            if (params[i] instanceof String[] array) {
                st.setArray(i + 1, c.createArrayOf("text", array));
            } else {
                st.setObject(i + 1, params[i]);
            }
        }
    }

    /**
     * A standby runs read-only: every step's first change would fail there with PostgreSQL's own message, and a
     * migration needs the primary's WAL and catalogs anyway.
     */
    static void primary(Connection c, String side, Findings out) throws SQLException {
        if (count(c, "SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END") == 1) {
            out.error("server_in_recovery", List.of(side), "the " + side + " server is a standby (in recovery): it "
                    + "accepts no change, so no step of the migration can run there", "point the " + side
                    + " host at the primary server of the cluster (its agent, and on the target side the "
                    + "subscription's connection for the source)");
        }
    }

    static int intSetting(Map<String, String> settings, String name) {
        try {
            return Integer.parseInt(settings.getOrDefault(name, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
