package io.pgferry.agent.migration;

import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * One database moves in one migration: a cutover fences the whole source database and moves all its clients, and a
 * target database's cutover, rollback and verify take it whole. Other pgferry migrations of a database are found by
 * their objects' names ({@code pgferry_<id>}), read from the catalogs.
 */
public final class OtherMigrations {
    public static final String CODE = "other_migration";

    private OtherMigrations() {
    }

    /** Publications of other migrations in the current database (not this one's, nor its reverse stream's). */
    public static List<String> publishing(Connection c, MigrationId migration) throws SQLException {
        String name = migration.objectName();
        return names(c, "SELECT pubname FROM pg_publication WHERE left(pubname, 8) = 'pgferry_' AND pubname <> ? "
                + "AND pubname <> ? ORDER BY 1", name, name + "_reverse");
    }

    /** Subscriptions of other migrations into the database. */
    public static List<String> subscribing(Connection c, MigrationId migration, String database) throws SQLException {
        return names(c, "SELECT s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid "
                + "WHERE d.datname = ? AND left(s.subname, 8) = 'pgferry_' AND s.subname <> ? ORDER BY 1", database,
                migration.objectName());
    }

    public static String sourceProblem(String database, List<String> publications) {
        return "database " + database + " is already in another pgferry migration (publication "
                + String.join(", ", publications) + "): one database moves in one migration, since a cutover fences "
                + "the whole database and moves all its clients, leaving the tables of another migration of it "
                + "behind where clients no longer write";
    }

    public static final String SOURCE_FIX = "move all of the database's tables in one migration (abandon the other, "
            + "pgferry.migrate.cleanup -e pgferry_cleanup_abandon=<its id>, and migrate again with the whole scope); "
            + "or finish it first (cutover, cleanup); a leftover: clean it up";

    private static List<String> names(Connection c, String sql, String a, String b) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, a);
            st.setString(2, b);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(Sql.ident(rs.getString(1)));
                }
            }
        }
        return out;
    }
}
