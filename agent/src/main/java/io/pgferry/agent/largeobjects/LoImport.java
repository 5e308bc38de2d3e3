package io.pgferry.agent.largeobjects;

import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Makes this side's large objects what a stream from the other side says, in the caller's one transaction: each
 * object sent is written afresh with its oid (an existing one unlinked first), owner, ACL and comment; each unlink
 * removes one. Small objects go in groups, set-based - a catalog read, one unlink and one create per owner for the
 * whole group - so a thousand changed objects cost a handful of statements, not thousands. Problems (roles missing here, objects this
 * side never received from pgferry) are collected over the whole stream and refused together, before the commit.
 */
final class LoImport {
    static final int GROUP_BYTES = 4 * 1024 * 1024;
    static final int GROUP_OBJECTS = 256;
    /** The statements answered as {@code queries}; a bulk copy would otherwise answer millions. */
    static final int SHOWN = 200;
    /** The conflicting oids kept to answer ({@code objects}); a foreign database may hold millions. */
    static final int CONFLICTS_KEPT = 100;
    /** Those of them named in the message. */
    private static final int CONFLICTS_NAMED = 20;

    private record Pending(LoHeader header, byte[] content) {
    }

    private final Connection c;
    private final boolean write;
    private final boolean member;
    private final String me;
    private final List<Pending> group = new ArrayList<>();
    private long groupBytes;
    private final Set<String> roles = new HashSet<>();
    private final Set<String> missingRoles = new TreeSet<>();
    private final List<String> conflicts = new ArrayList<>();
    private long conflictCount;
    private final List<String> shown = new ArrayList<>();
    private long statements;
    long copied;
    long replaced;
    long unlinked;
    long bytes;

    /**
     * @param write false in check mode: statements are only listed
     * @param member whether this side took part in an earlier sync (or the caller adopts what is here)
     */
    LoImport(Connection c, boolean write, boolean member) throws SQLException {
        this.c = c;
        this.write = write;
        this.member = member;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            this.me = rs.getString(1);
        }
    }

    void run(LoStream.Reader in) throws IOException, SQLException {
        while (true) {
            LoHeader h = in.next();
            if (h.isEnd()) {
                flush();
                return;
            }
            if (h.isUnlink() || !h.hasData()) {
                add(new Pending(h, h.isUnlink() ? null : new byte[0]));
                continue;
            }
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            byte[] chunk;
            while ((chunk = in.chunk()) != null) {
                content.write(chunk);
                if (content.size() > GROUP_BYTES) {
                    large(h, content.toByteArray(), in);
                    content = null;
                    break;
                }
            }
            if (content != null) {
                add(new Pending(h, content.toByteArray()));
            }
        }
    }

    /** Refuses what was found, before anything is committed. */
    void refuseProblems() {
        if (conflictCount > 0) {
            throw ApiException.unprocessable("large_objects_conflict", "this database holds large objects that "
                    + "pgferry did not copy here and would replace or remove to match the other side: "
                    + String.join(", ", conflicts.subList(0, Math.min(CONFLICTS_NAMED, conflicts.size())))
                    + (conflictCount > CONFLICTS_NAMED ? " and " + (conflictCount - CONFLICTS_NAMED) + " more" : "")
                    + "; nothing was changed. Remove them if they are not needed, or migrate into another database; "
                    + "if they are pgferry's own copies (this agent's state directory was lost), run the step with "
                    + "adopt_existing", conflicts);
        }
        if (!missingRoles.isEmpty()) {
            throw ApiException.unprocessable("roles_missing", "large objects belong to or are granted to roles that "
                    + "do not exist here: " + String.join(", ", missingRoles) + "; nothing was changed. Create "
                    + "them (the roles step), then run the step again", List.copyOf(missingRoles));
        }
    }

    List<String> shown() {
        List<String> out = new ArrayList<>(shown);
        if (statements > SHOWN) {
            out.add("-- and " + (statements - SHOWN) + " more statements");
        }
        return out;
    }

    private void add(Pending p) throws SQLException {
        group.add(p);
        groupBytes += p.content() == null ? 0 : p.content().length;
        if (group.size() >= GROUP_OBJECTS || groupBytes >= GROUP_BYTES) {
            flush();
        }
    }

    /**
     * One group, set-based: the existing ones unlinked in one statement, the new contents created in one statement
     * per owner (as that owner: no ALTER per object), ACLs granted per distinct ACL to all its objects at once,
     * comments one by one (few objects have one).
     */
    private void flush() throws SQLException {
        if (group.isEmpty()) {
            return;
        }
        Set<Long> existing = existing(group.stream().map(p -> p.header().oid()).toList());
        knowRoles(group.stream().map(Pending::header).toList());
        List<Long> unlink = new ArrayList<>();
        Map<String, List<Pending>> byOwner = new LinkedHashMap<>();
        for (Pending p : group) {
            long oid = p.header().oid();
            boolean exists = existing.contains(oid);
            if (p.header().isUnlink()) {
                if (exists && allowed(oid)) {
                    unlink.add(oid);
                    unlinked++;
                }
                continue;
            }
            if (!(allowed(oid, exists) & rolesPresent(p.header()))) {
                continue;
            }
            if (exists) {
                unlink.add(oid);
                replaced++;
            }
            byOwner.computeIfAbsent(p.header().owner(), o -> new ArrayList<>()).add(p);
            copied++;
            bytes += p.content().length;
        }
        boolean go = write && !blocked();
        if (!unlink.isEmpty()) {
            execute(go, "SELECT count(pg_catalog.lo_unlink(o::oid)) FROM unnest(?::bigint[]) AS o",
                    "SELECT pg_catalog.lo_unlink(o::oid) FROM unnest('" + array(unlink) + "'::bigint[]) AS o",
                    unlink.toArray(), null);
        }
        List<String> ddl = new ArrayList<>();
        for (Map.Entry<String, List<Pending>> e : byOwner.entrySet()) {
            List<Pending> objects = e.getValue();
            List<Long> oids = objects.stream().map(p -> p.header().oid()).toList();
            boolean other = !e.getKey().equals(me);
            if (other) {
                // Created as their owner: PostgreSQL records the creating role as a large object's owner.
                execute(go, "SET ROLE " + Sql.ident(e.getKey()), null, null, null);
            }
            long size = objects.stream().mapToLong(p -> p.content().length).sum();
            boolean data = objects.get(0).header().hasData();
            execute(go, "SELECT count(pg_catalog.lo_from_bytea(t.o::oid, t.d)) FROM unnest(?::bigint[], ?::bytea[]) "
                    + "AS t(o, d)", "SELECT pg_catalog.lo_from_bytea(t.o::oid, t.d) FROM unnest('" + array(oids)
                    + "'::bigint[], <" + (data ? size + " bytes of content" : "their contents") + ">) AS t(o, d)",
                    oids.toArray(), objects.stream().map(Pending::content).toArray(byte[][]::new));
            if (other) {
                execute(go, "RESET ROLE", null, null, null);
            }
        }
        acls(byOwner, ddl);
        for (List<Pending> objects : byOwner.values()) {
            for (Pending p : objects) {
                if (p.header().comment() != null) {
                    ddl.add(statement("COMMENT ON LARGE OBJECT " + p.header().oid() + " IS "
                            + Sql.literal(p.header().comment())));
                }
            }
        }
        if (go && !ddl.isEmpty()) {
            try (Statement st = c.createStatement()) {
                st.execute(String.join(";\n", ddl));
            }
        }
        group.clear();
        groupBytes = 0;
    }

    /** The ACLs as granted on the other side: per distinct (owner, ACL), one REVOKE and one GRANT per entry. */
    private void acls(Map<String, List<Pending>> byOwner, List<String> ddl) {
        Map<List<Object>, List<Long>> byAcl = new LinkedHashMap<>();
        byOwner.forEach((owner, objects) -> objects.stream().filter(p -> p.header().acl() != null).forEach(p ->
                byAcl.computeIfAbsent(List.of(owner, p.header().acl()), k -> new ArrayList<>()).add(p.header().oid())));
        byAcl.forEach((key, oids) -> {
            String objects = "LARGE OBJECT " + oids.stream().map(String::valueOf).collect(Collectors.joining(", "));
            ddl.add(statement("REVOKE ALL ON " + objects + " FROM " + Sql.ident((String) key.get(0))));
            @SuppressWarnings("unchecked")
            List<LoHeader.AclItem> acl = (List<LoHeader.AclItem>) key.get(1);
            for (LoHeader.AclItem a : acl) {
                ddl.add(statement("GRANT " + a.privilege() + " ON " + objects + " TO "
                        + (a.grantee() == null ? "PUBLIC" : Sql.ident(a.grantee()))
                        + (a.grantable() ? " WITH GRANT OPTION" : "")));
            }
        });
    }

    private void execute(boolean go, String sql, String shownAs, Object[] oids, byte[][] contents)
            throws SQLException {
        statement(sql, shownAs == null ? sql : shownAs);
        if (!go) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (oids != null) {
                ps.setArray(1, c.createArrayOf("bigint", oids));
            }
            if (contents != null) {
                ps.setArray(2, c.createArrayOf("bytea", contents));
            }
            ps.execute();
        }
    }

    private static String array(List<Long> oids) {
        return oids.stream().map(String::valueOf).collect(Collectors.joining(",", "{", "}"));
    }

    /** An object larger than a group: written on its own, piece by piece as the stream brings it. */
    private void large(LoHeader h, byte[] first, LoStream.Reader in) throws IOException, SQLException {
        flush();
        long oid = h.oid();
        boolean exists = existing(List.of(oid)).contains(oid);
        knowRoles(List.of(h));
        boolean go = allowed(oid, exists) & rolesPresent(h) && write && !blocked();
        if (exists) {
            run(go, "SELECT pg_catalog.lo_unlink(" + oid + ")");
            replaced++;
        }
        long offset = 0;
        byte[] piece = first;
        try (PreparedStatement create = c.prepareStatement("SELECT pg_catalog.lo_from_bytea(?::oid, ?)");
             PreparedStatement put = c.prepareStatement("SELECT pg_catalog.lo_put(?::oid, ?, ?)")) {
            while (piece != null) {
                PreparedStatement ps = offset == 0 ? create : put;
                statement("SELECT pg_catalog." + (offset == 0 ? "lo_from_bytea(" + oid : "lo_put(" + oid + ", "
                        + offset) + ", <" + piece.length + " bytes>)");
                if (go) {
                    ps.setLong(1, oid);
                    if (offset == 0) {
                        ps.setBytes(2, piece);
                    } else {
                        ps.setLong(2, offset);
                        ps.setBytes(3, piece);
                    }
                    ps.execute();
                }
                offset += piece.length;
                piece = in.chunk();
            }
        }
        List<String> sql = new ArrayList<>();
        metadata(h, sql);
        if (go && !sql.isEmpty()) {
            try (Statement st = c.createStatement()) {
                st.execute(String.join(";\n", sql));
            }
        }
        copied++;
        bytes += offset;
    }

    /** Owner, then the ACL as granted on the other side, then the comment. */
    private void metadata(LoHeader h, List<String> sql) {
        String object = "LARGE OBJECT " + h.oid();
        if (!h.owner().equals(me)) {
            sql.add(statement("ALTER " + object + " OWNER TO " + Sql.ident(h.owner())));
        }
        if (h.acl() != null) {
            sql.add(statement("REVOKE ALL ON " + object + " FROM " + Sql.ident(h.owner())));
            for (LoHeader.AclItem a : h.acl()) {
                sql.add(statement("GRANT " + a.privilege() + " ON " + object + " TO "
                        + (a.grantee() == null ? "PUBLIC" : Sql.ident(a.grantee()))
                        + (a.grantable() ? " WITH GRANT OPTION" : "")));
            }
        }
        if (h.comment() != null) {
            sql.add(statement("COMMENT ON " + object + " IS " + Sql.literal(h.comment())));
        }
    }

    private void run(boolean go, String sql) throws SQLException {
        statement(sql);
        if (go) {
            try (Statement st = c.createStatement()) {
                st.execute(sql);
            }
        }
    }

    private String statement(String sql) {
        return statement(sql, sql);
    }

    private String statement(String sql, String shownAs) {
        if (statements++ < SHOWN) {
            shown.add(shownAs);
        }
        return sql;
    }

    private boolean allowed(long oid) {
        return allowed(oid, true);
    }

    /** Replacing or removing what this side holds is only for a side that took part in pgferry's syncs. */
    private boolean allowed(long oid, boolean exists) {
        if (exists && !member) {
            if (conflictCount++ < CONFLICTS_KEPT) {
                conflicts.add(Long.toString(oid));
            }
            return false;
        }
        return true;
    }

    private boolean rolesPresent(LoHeader h) {
        boolean ok = true;
        for (String role : names(h)) {
            if (!roles.contains(role)) {
                missingRoles.add(role);
                ok = false;
            }
        }
        return ok;
    }

    private boolean blocked() {
        return conflictCount > 0 || !missingRoles.isEmpty();
    }

    private Set<Long> existing(List<Long> oids) throws SQLException {
        Set<Long> out = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT oid::bigint FROM pg_catalog.pg_largeobject_metadata "
                + "WHERE oid = ANY (?::bigint[]::oid[])")) {
            ps.setArray(1, c.createArrayOf("bigint", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    private void knowRoles(List<LoHeader> headers) throws SQLException {
        Set<String> unknown = new HashSet<>();
        for (LoHeader h : headers) {
            if (!h.isUnlink()) {
                names(h).stream().filter(r -> !roles.contains(r)).forEach(unknown::add);
            }
        }
        if (unknown.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT rolname FROM pg_catalog.pg_roles "
                + "WHERE rolname = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("text", unknown.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
            }
        }
    }

    private static Set<String> names(LoHeader h) {
        Set<String> out = new HashSet<>();
        out.add(h.owner());
        if (h.acl() != null) {
            h.acl().stream().map(LoHeader.AclItem::grantee).filter(g -> g != null).forEach(out::add);
        }
        return out;
    }
}
