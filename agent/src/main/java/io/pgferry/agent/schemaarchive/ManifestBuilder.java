package io.pgferry.agent.schemaarchive;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gives every TOC entry its object's exact identity, read from the source catalogs by OID. Entries without an
 * OID (COMMENT, INDEX ATTACH, TABLE ATTACH) are matched against strings built from catalog names, and a match
 * counts only when exactly one candidate exists in the catalogs; anything else stays unresolved (type null).
 */
final class ManifestBuilder {
    private static final String ADDRESSES = """
            SELECT u.ord, a.type, a.object_names, a.object_args
              FROM unnest(?::int8[]::oid[], ?::int8[]::oid[]) WITH ORDINALITY AS u(classid, objid, ord)
             CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(u.classid, u.objid, 0) a
             WHERE u.classid <> 0""";
    /** Only a table's own unique-index constraints can be its primary key or replica identity (an FK's conindid
     *  is the referenced table's index). */
    private static final String CONSTRAINTS = """
            SELECT c.oid::int8, c.contype::text, c.contype = 'p', coalesce(i.indisreplident, false), t.relname
              FROM pg_catalog.pg_constraint c
              LEFT JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
              LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid AND i.indrelid = c.conrelid
             WHERE c.oid = ANY (?::int8[]::oid[])""";
    private static final String INDEXES = """
            SELECT i.indexrelid::int8, i.indisprimary, i.indisreplident, t.relname
              FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
             WHERE i.indexrelid = ANY (?::int8[]::oid[])""";
    private static final String MATVIEWS = """
            SELECT oid::int8, relispopulated FROM pg_catalog.pg_class
             WHERE relkind = 'm' AND oid = ANY (?::int8[]::oid[])""";
    private static final String PARTITION = """
            SELECT t.relname, coalesce(i.indisprimary, false), coalesce(i.indisreplident, false)
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
              LEFT JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
             WHERE n.nspname = ? AND c.relname = ? AND c.relispartition AND c.relkind = ANY (?::"char"[])""";

    /** pg_class's OID: catalogs have pinned OIDs, the same in every release. */
    private static final long PG_CLASS = 1259;

    private final Connection c;
    private final List<String> schemaNames;
    private final List<String> roleNames;

    ManifestBuilder(Connection c) throws SQLException {
        this.c = c;
        this.schemaNames = strings("SELECT nspname FROM pg_catalog.pg_namespace");
        List<String> roles = strings("SELECT rolname FROM pg_catalog.pg_roles");
        roles.add("");
        this.roleNames = roles;
    }

    List<TocEntry> build(List<TocLine> preData, List<TocLine> postData) throws SQLException {
        List<TocLine> lines = new ArrayList<>(preData);
        lines.addAll(postData);
        Set<Integer> post = new HashSet<>();
        postData.forEach(l -> post.add(l.id()));
        List<TocEntry> out = new ArrayList<>();
        Map<Long, Object[]> constraints = byOid(CONSTRAINTS, oids(lines, "CONSTRAINT", "FK CONSTRAINT",
                "CHECK CONSTRAINT"));
        Map<Long, Object[]> indexes = byOid(INDEXES, oids(lines, "INDEX"));
        Map<Long, Object[]> matviews = byOid(MATVIEWS, oids(lines, "MATERIALIZED VIEW"));
        Object[][] addresses = addresses(lines);
        for (int i = 0; i < lines.size(); i++) {
            TocLine l = lines.get(i);
            String section = post.contains(l.id()) ? TocEntry.POST_DATA : TocEntry.PRE_DATA;
            TocEntry e = switch (l.desc()) {
                case "INDEX ATTACH" -> attached(l, section, "index attach", "{i,I}");
                case "TABLE ATTACH" -> attached(l, section, "table attach", "{r,p}");
                default -> fromAddress(l, section, addresses[i], constraints.get(l.objectOid()),
                        indexes.get(l.objectOid()), matviews.get(l.objectOid()));
            };
            out.add(e);
        }
        return resolveComments(out);
    }

    private TocEntry fromAddress(TocLine l, String section, Object[] address, Object[] constraint, Object[] index,
                                 Object[] matview) {
        if (address == null || address[0] == null) {
            return unresolved(l, section);
        }
        boolean rowSecurity = l.desc().equals("ROW SECURITY");
        String type = rowSecurity ? "row security" : (String) address[0];
        List<String> names = Arrays.asList((String[]) address[1]);
        List<String> args = Arrays.asList((String[]) address[2]);
        String schema = null;
        String name = null;
        String table = null;
        switch (type) {
            case "schema", "extension" -> name = names.get(0);
            case "table constraint", "trigger", "rule", "policy" -> {
                schema = names.get(0);
                table = names.get(1);
                name = names.get(2);
            }
            default -> {
                if (names.size() == 2) {
                    schema = names.get(0);
                    name = names.get(1);
                }
            }
        }
        String contype = null;
        Boolean pk = null;
        Boolean ri = null;
        if (constraint != null) {
            contype = (String) constraint[1];
            pk = (Boolean) constraint[2];
            ri = (Boolean) constraint[3];
        } else if (index != null) {
            pk = (Boolean) index[1];
            ri = (Boolean) index[2];
            table = (String) index[3];
        }
        Boolean populated = matview == null ? null : (Boolean) matview[1];
        return new TocEntry(l.id(), section, l.desc(), l.catalogOid(), l.objectOid(), type, names, args, schema,
                name, table, contype, pk, ri, null, populated, l.rest());
    }

    /**
     * {@code INDEX ATTACH}/{@code TABLE ATTACH} lines read {@code <schema> <name> <owner>}: every split at a known
     * schema and a known role is tried, and the one whose partition exists in the catalogs is taken.
     */
    private TocEntry attached(TocLine l, String section, String type, String relkinds) throws SQLException {
        TocEntry found = null;
        int matches = 0;
        for (String schema : schemaNames) {
            if (!l.rest().startsWith(schema + " ")) {
                continue;
            }
            for (String role : roleNames) {
                String middle = l.rest().substring(schema.length() + 1);
                if (!middle.endsWith(" " + role) || middle.length() <= role.length() + 1) {
                    continue;
                }
                String name = middle.substring(0, middle.length() - role.length() - 1);
                try (PreparedStatement ps = c.prepareStatement(PARTITION)) {
                    ps.setString(1, schema);
                    ps.setString(2, name);
                    ps.setString(3, relkinds);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            matches++;
                            found = new TocEntry(l.id(), section, l.desc(), 0, 0, type, List.of(schema, name),
                                    List.of(), schema, name, rs.getString(1), null, rs.getBoolean(2),
                                    rs.getBoolean(3), null, null, l.rest());
                        }
                    }
                }
            }
        }
        return matches == 1 ? found : unresolved(l, section);
    }

    /**
     * A COMMENT line reads {@code <schema or -> <label> <owner>}, the label as pg_dump writes it (e.g.
     * {@code TRIGGER "Touch Note" ON invoices}). Labels are built for every resolved entry with the source's
     * quote_ident, which applies the same rule as pg_dump's; a comment matching exactly one label is that
     * entry's.
     */
    private List<TocEntry> resolveComments(List<TocEntry> entries) throws SQLException {
        Set<String> names = new LinkedHashSet<>();
        for (TocEntry e : entries) {
            if (e.name() != null) {
                names.add(e.name());
            }
            if (e.table() != null) {
                names.add(e.table());
            }
        }
        Map<String, String> quoted = quoteIdents(new ArrayList<>(names));
        Map<String, Integer> byLabel = new HashMap<>();
        Set<String> ambiguous = new HashSet<>();
        for (TocEntry e : entries) {
            String label = label(e, quoted);
            if (label != null && byLabel.putIfAbsent(label, e.id()) != null) {
                ambiguous.add(label);
            }
        }
        ambiguous.forEach(byLabel::remove);
        List<TocEntry> out = new ArrayList<>(entries.size());
        for (TocEntry e : entries) {
            out.add(e.desc().equals("COMMENT") && e.type() == null ? comment(e, byLabel) : e);
        }
        return out;
    }

    private TocEntry comment(TocEntry e, Map<String, Integer> byLabel) {
        Integer on = null;
        String rest = e.tocText();
        for (String role : roleNames) {
            if (rest.endsWith(" " + role)) {
                Integer id = byLabel.get(rest.substring(0, rest.length() - role.length()));
                if (id != null && on != null && !on.equals(id)) {
                    return e;
                }
                on = id == null ? on : id;
            }
        }
        return on == null ? e : new TocEntry(e.id(), e.section(), e.desc(), 0, 0, "comment", List.of(), List.of(),
                null, null, null, null, null, null, on, null, rest);
    }

    /** The prefix a COMMENT line on this entry starts with: {@code "<schema or -> <label> "}. */
    private static String label(TocEntry e, Map<String, String> q) {
        if (e.type() == null || e.name() == null) {
            return null;
        }
        String on = e.table() == null ? null : " ON " + q.get(e.table());
        String label = switch (e.type()) {
            case "schema" -> "SCHEMA " + q.get(e.name());
            case "extension" -> "EXTENSION " + q.get(e.name());
            case "index" -> "INDEX " + q.get(e.name());
            case "table" -> "TABLE " + q.get(e.name());
            case "materialized view" -> "MATERIALIZED VIEW " + q.get(e.name());
            case "statistics object" -> "STATISTICS " + q.get(e.name());
            case "table constraint" -> "CONSTRAINT " + q.get(e.name()) + on;
            case "trigger" -> "TRIGGER " + q.get(e.name()) + on;
            case "rule" -> "RULE " + q.get(e.name()) + on;
            case "policy" -> "POLICY " + q.get(e.name()) + on;
            default -> null;
        };
        return label == null ? null : (e.schema() == null ? "-" : e.schema()) + " " + label + " ";
    }

    private static TocEntry unresolved(TocLine l, String section) {
        return new TocEntry(l.id(), section, l.desc(), l.catalogOid(), l.objectOid(), null, List.of(), List.of(),
                null, null, null, null, null, null, null, null, l.rest());
    }

    private Object[][] addresses(List<TocLine> lines) throws SQLException {
        Long[] classes = new Long[lines.size()];
        Long[] objects = new Long[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            TocLine l = lines.get(i);
            // ROW SECURITY names its table by OID but gives no catalog: the table is in pg_class.
            boolean rowSecurity = l.desc().equals("ROW SECURITY") && l.catalogOid() == 0;
            classes[i] = rowSecurity ? PG_CLASS : l.catalogOid();
            objects[i] = l.objectOid();
        }
        Object[][] out = new Object[lines.size()][];
        try (PreparedStatement ps = c.prepareStatement(ADDRESSES)) {
            ps.setArray(1, c.createArrayOf("int8", classes));
            ps.setArray(2, c.createArrayOf("int8", objects));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out[rs.getInt(1) - 1] = new Object[] {rs.getString(2), array(rs.getArray(3)),
                            array(rs.getArray(4))};
                }
            }
        }
        return out;
    }

    private static String[] array(Array a) throws SQLException {
        return a == null ? new String[0] : (String[]) a.getArray();
    }

    private static Long[] oids(List<TocLine> lines, String... descs) {
        List<String> wanted = List.of(descs);
        return lines.stream().filter(l -> wanted.contains(l.desc()) && l.objectOid() != 0)
                .map(TocLine::objectOid).toArray(Long[]::new);
    }

    private Map<Long, Object[]> byOid(String sql, Long[] oids) throws SQLException {
        Map<Long, Object[]> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("int8", oids));
            try (ResultSet rs = ps.executeQuery()) {
                int n = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    Object[] row = new Object[n];
                    for (int i = 0; i < n; i++) {
                        row[i] = rs.getObject(i + 1);
                    }
                    out.put(rs.getLong(1), row);
                }
            }
        }
        return out;
    }

    private Map<String, String> quoteIdents(List<String> names) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT n, pg_catalog.quote_ident(n) FROM unnest(?::text[]) n")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    private List<String> strings(String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
