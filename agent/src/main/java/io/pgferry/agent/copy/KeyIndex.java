package io.pgferry.agent.copy;

import io.pgferry.agent.schemaarchive.TocEntry;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A primary key built as pgcopydb builds it: its unique index first, with {@code CREATE UNIQUE INDEX}, which takes
 * a SHARE lock and so runs beside the table's other index builds, then attached with {@code ADD CONSTRAINT ...
 * PRIMARY KEY USING INDEX}, a catalog change. The archive's {@code ADD CONSTRAINT ... PRIMARY KEY (...)} takes an
 * ACCESS EXCLUSIVE lock for the whole build, so the key of a big table would otherwise be built alone before its
 * other indexes.
 *
 * <p>Only where the result is the archive's own key: a plain table's (not a partition: those are attached to their
 * parent's index), not deferrable, a btree in the database's default tablespace, whose index bears the constraint's
 * name; the definition is the source's own ({@code pg_get_indexdef}, every name qualified), and its archive entry
 * holds nothing but the key, its {@code CLUSTER ON} and its {@code REPLICA IDENTITY}, which are made again from the
 * catalog. Any other key keeps the archive's statement.
 *
 * @param build {@code CREATE UNIQUE INDEX IF NOT EXISTS ...}: a copy interrupted after the build and rerun (its
 *              tables emptied, their indexes kept) finds the index there
 * @param attach the constraint on that index, then the index's other roles, as the archive's entry sets them
 */
record KeyIndex(int id, String build, String attach) {
    /** Read inside the copy's snapshot; pg_dump's own setting, so that every name comes out qualified. */
    private static final String KEYS = """
            SELECT c.oid::int8, n.nspname, t.relname, c.conname, pg_catalog.pg_get_indexdef(c.conindid),
                   i.indisclustered, i.indisreplident
              FROM pg_catalog.pg_constraint c
              JOIN pg_catalog.pg_class t ON t.oid = c.conrelid AND t.relkind = 'r' AND NOT t.relispartition
              JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
              JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid AND i.indrelid = c.conrelid AND i.indisvalid
              JOIN pg_catalog.pg_class ic ON ic.oid = c.conindid AND ic.relname = c.conname AND ic.reltablespace = 0
              JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
             WHERE c.oid = ANY (?::int8[]::oid[]) AND c.contype = 'p' AND NOT c.condeferrable""";
    private static final String UNIQUE = "CREATE UNIQUE INDEX ";

    /** The dump id this key's index build goes by among a table's index tasks (the entry's own id: the attach). */
    int buildId() {
        return -id;
    }

    /**
     * The keys among {@code entries} (the copy's chosen archive entries) that can be built apart, by dump id.
     * {@code source} is inside a transaction; the search path is set for that transaction only.
     */
    static Map<Integer, KeyIndex> read(Connection source, List<TocEntry> entries)
            throws SQLException {
        Map<Long, TocEntry> byOid = new HashMap<>();
        for (TocEntry e : entries) {
            if ("CONSTRAINT".equals(e.desc()) && "p".equals(e.contype()) && e.objectOid() != 0) {
                byOid.put(e.objectOid(), e);
            }
        }
        Map<Integer, KeyIndex> out = new HashMap<>();
        if (byOid.isEmpty()) {
            return out;
        }
        try (Statement st = source.createStatement()) {
            st.execute("SELECT pg_catalog.set_config('search_path', '', true)");
        }
        try (PreparedStatement ps = source.prepareStatement(KEYS)) {
            ps.setArray(1, source.createArrayOf("bigint", byOid.keySet().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TocEntry e = byOid.get(rs.getLong(1));
                    String def = rs.getString(5);
                    // The same object as the archive's entry (an OID can be reused after a drop), and the form
                    // pg_get_indexdef gives a key's index.
                    if (!rs.getString(2).equals(e.schema()) || !rs.getString(3).equals(e.table())
                            || !rs.getString(4).equals(e.name()) || def == null || !def.startsWith(UNIQUE)) {
                        continue;
                    }
                    String table = Sql.qualified(e.schema(), e.table());
                    String index = Sql.ident(e.name());
                    StringBuilder attach = new StringBuilder("ALTER TABLE ONLY ").append(table)
                            .append(" ADD CONSTRAINT ").append(index).append(" PRIMARY KEY USING INDEX ").append(index)
                            .append(";\n");
                    List<String> roles = new ArrayList<>();
                    if (rs.getBoolean(6)) {
                        roles.add("ALTER TABLE " + table + " CLUSTER ON " + index + ";\n");
                    }
                    if (rs.getBoolean(7)) {
                        roles.add("ALTER TABLE ONLY " + table + " REPLICA IDENTITY USING INDEX " + index + ";\n");
                    }
                    roles.forEach(attach::append);
                    out.put(e.id(), new KeyIndex(e.id(), "SET default_tablespace = '';\n" + UNIQUE + "IF NOT EXISTS "
                            + def.substring(UNIQUE.length()) + ";\n", attach.toString()));
                }
            }
        }
        return out;
    }

    /**
     * Whether the archive's entry for this key holds exactly the statements {@link #attach} makes again: the key,
     * and the same number of others. An entry with more (a later pg_dump's) keeps the archive's statement.
     */
    boolean matches(String entrySql) {
        long archive = entrySql.lines().filter(l -> l.startsWith("ALTER TABLE ")).count();
        return archive == attach.lines().count();
    }
}
