package io.pgferry.agent.publication;

import io.pgferry.agent.migration.TableRef;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** What pg_publication says about the migration's publication in the current database. */
final class PublicationCatalog {
    /**
     * @param members tables listed in it, each with whether a row filter or column list narrows it (15+)
     * @param schemaMembers how many schemas it publishes wholesale (FOR TABLES IN SCHEMA, 15+)
     */
    record Existing(boolean allTables, boolean viaRoot, boolean publishesEverything, Map<TableRef, Boolean> members,
                    int schemaMembers) {
    }

    private static final String PUBLICATION = """
            SELECT oid, puballtables, pubviaroot, pubinsert AND pubupdate AND pubdelete AND pubtruncate
            FROM pg_publication WHERE pubname = ?""";
    private static final String MEMBERS = """
            SELECT n.nspname, c.relname, %s
            FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE pr.prpubid = ?""";

    private PublicationCatalog() {
    }

    static Optional<Existing> read(Connection c, String name, int major) throws SQLException {
        long oid;
        boolean allTables;
        boolean viaRoot;
        boolean everything;
        try (PreparedStatement st = c.prepareStatement(PUBLICATION)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                oid = rs.getLong(1);
                allTables = rs.getBoolean(2);
                viaRoot = rs.getBoolean(3);
                everything = rs.getBoolean(4);
            }
        }
        Map<TableRef, Boolean> members = new TreeMap<>();
        String narrowed = major >= 15 ? "pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL" : "false";
        try (PreparedStatement st = c.prepareStatement(MEMBERS.formatted(narrowed))) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    members.put(new TableRef(rs.getString(1), rs.getString(2)), rs.getBoolean(3));
                }
            }
        }
        int schemas = 0;
        if (major >= 15) {
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT count(*) FROM pg_publication_namespace WHERE pnpubid = ?")) {
                st.setLong(1, oid);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    schemas = rs.getInt(1);
                }
            }
        }
        return Optional.of(new Existing(allTables, viaRoot, everything, members, schemas));
    }
}
