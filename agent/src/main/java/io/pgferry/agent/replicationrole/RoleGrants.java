package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopedTable;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The privileges the replication role needs in one database, and the GRANTs and REVOKEs that make its direct
 * privileges exactly these: USAGE on the schemas, SELECT on the tables and sequences. Privileges PUBLIC already
 * has are not granted again; privileges the role has beyond these (a wider earlier scope, a manual grant) are
 * revoked, so a rerun with a narrower scope narrows what the role can read.
 */
final class RoleGrants {
    record Wanted(List<String> schemas, List<TableRef> tables, List<TableRef> sequences) {
    }

    private record Grant(String schema, String name, char kind) {
    }

    /** Every descendant of the partitioned roots in scope. */
    private static final String PARTITIONS = """
            SELECT n.nspname, c.relname
            FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
            JOIN pg_namespace rn ON rn.nspname = r.nsp
            JOIN pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.rel
            CROSS JOIN LATERAL pg_partition_tree(rc.oid) p
            JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE p.level > 0""";
    /** Sequences in the schemas with the table owning them (identity, serial), if any. */
    private static final String SEQUENCES = """
            SELECT n.nspname, s.relname, tn.nspname, t.relname
            FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
            LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            LEFT JOIN pg_class t ON t.oid = d.refobjid
            LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE s.relkind = 'S' AND n.nspname = ANY (?)
              AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                              AND e.objid = s.oid AND e.deptype = 'e')
            ORDER BY 1, 2""";
    /** Direct privileges of the role (grantee = its oid) and of PUBLIC (grantee 0) on relations. */
    private static final String RELATION_PRIVILEGES = """
            SELECT n.nspname, c.relname, c.relkind, a.grantee = 0, a.privilege_type
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL aclexplode(c.relacl) a
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND (a.grantee = 0 OR a.grantee = ?::oid)""";
    private static final String SCHEMA_PRIVILEGES = """
            SELECT n.nspname, '', 'n', a.grantee = 0, a.privilege_type
            FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
            WHERE a.grantee = 0 OR a.grantee = ?::oid""";
    /**
     * Whether the role (or PUBLIC) may connect to the database: a database closed to PUBLIC (REVOKE CONNECT .. FROM
     * PUBLIC, the usual hardening) needs its own grant, or the subscription cannot log in.
     */
    private static final String CAN_CONNECT = """
            SELECT pg_catalog.current_database(), EXISTS (
              SELECT 1 FROM pg_catalog.pg_database d
               CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
               WHERE d.datname = pg_catalog.current_database() AND a.privilege_type = 'CONNECT'
                 AND (a.grantee = 0 OR a.grantee = ?::oid))""";
    /** Privilege names come from aclexplode; checked anyway since they are spliced into REVOKE. */
    private static final Pattern PRIVILEGE = Pattern.compile("[A-Z]+( [A-Z]+)*");

    private RoleGrants() {
    }

    static Wanted wanted(Connection c, ResolvedScope scope) throws SQLException {
        Set<TableRef> tables = new TreeSet<>(scope.tableRefs());
        List<ScopedTable> roots = scope.tables().stream().filter(t -> t.kind() == 'p').toList();
        if (!roots.isEmpty()) {
            try (PreparedStatement st = c.prepareStatement(PARTITIONS)) {
                st.setArray(1, c.createArrayOf("text", roots.stream().map(t -> t.table().schema()).toArray()));
                st.setArray(2, c.createArrayOf("text", roots.stream().map(t -> t.table().name()).toArray()));
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        tables.add(new TableRef(rs.getString(1), rs.getString(2)));
                    }
                }
            }
        }
        Set<TableRef> sequences = new TreeSet<>();
        try (PreparedStatement st = c.prepareStatement(SEQUENCES)) {
            st.setArray(1, c.createArrayOf("text", scope.schemas().toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String ownerSchema = rs.getString(3);
                    // A sequence owned by a table out of scope belongs to that table, not to the migration.
                    if (ownerSchema == null || tables.contains(new TableRef(ownerSchema, rs.getString(4)))) {
                        sequences.add(new TableRef(rs.getString(1), rs.getString(2)));
                    }
                }
            }
        }
        Set<String> schemas = new TreeSet<>();
        tables.forEach(t -> schemas.add(t.schema()));
        sequences.forEach(t -> schemas.add(t.schema()));
        return new Wanted(List.copyOf(schemas), List.copyOf(tables), List.copyOf(sequences));
    }

    /** @param roleOid 0 when the role does not exist yet: then only PUBLIC's privileges count */
    static void plan(Connection c, Plan plan, String role, long roleOid, Wanted wanted) throws SQLException {
        Map<Grant, Set<String>> direct = new HashMap<>();
        Set<Grant> publicGrants = new HashSet<>();
        read(c, SCHEMA_PRIVILEGES, roleOid, direct, publicGrants, "USAGE");
        read(c, RELATION_PRIVILEGES, roleOid, direct, publicGrants, "SELECT");

        Map<Grant, String> want = new HashMap<>();
        wanted.schemas().forEach(s -> want.put(new Grant(s, "", 'n'), "USAGE"));
        wanted.tables().forEach(t -> want.put(new Grant(t.schema(), t.name(), 'r'), "SELECT"));
        wanted.sequences().forEach(t -> want.put(new Grant(t.schema(), t.name(), 'S'), "SELECT"));

        List<String> schemas = new ArrayList<>();
        List<String> tables = new ArrayList<>();
        List<String> sequences = new ArrayList<>();
        for (Grant g : sorted(want.keySet())) {
            Set<String> has = direct.getOrDefault(g, Set.of());
            if (!has.contains(want.get(g)) && !publicGrants.contains(g)) {
                (g.kind() == 'n' ? schemas : g.kind() == 'S' ? sequences : tables).add(quoted(g));
            }
        }
        String to = " TO " + Sql.ident(role);
        try (PreparedStatement st = c.prepareStatement(CAN_CONNECT)) {
            st.setLong(1, roleOid);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(2)) {
                    plan.add("GRANT CONNECT ON DATABASE " + Sql.ident(rs.getString(1)) + to);
                }
            }
        }
        if (!schemas.isEmpty()) {
            plan.add("GRANT USAGE ON SCHEMA " + String.join(", ", schemas) + to);
        }
        if (!tables.isEmpty()) {
            plan.add("GRANT SELECT ON TABLE " + String.join(", ", tables) + to);
        }
        if (!sequences.isEmpty()) {
            plan.add("GRANT SELECT ON SEQUENCE " + String.join(", ", sequences) + to);
        }
        for (Grant g : sorted(direct.keySet())) {
            Set<String> extra = new TreeSet<>(direct.get(g));
            if (want.containsKey(g)) {
                extra.remove(want.get(g));
            }
            if (!extra.isEmpty()) {
                String privileges = want.containsKey(g) ? String.join(", ", checked(extra)) : "ALL";
                plan.add("REVOKE " + privileges + " ON " + objectType(g) + " " + quoted(g) + " FROM "
                        + Sql.ident(role));
            }
        }
    }

    /**
     * Fills the role's direct privileges (by object, with their aclexplode type collapsed to ours) and the
     * objects where PUBLIC already holds the one privilege the role needs there.
     */
    private static void read(Connection c, String sql, long roleOid, Map<Grant, Set<String>> direct,
                             Set<Grant> publicGrants, String needed) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setLong(1, roleOid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    char kind = switch (rs.getString(3).charAt(0)) {
                        case 'n' -> 'n';
                        case 'S' -> 'S';
                        default -> 'r';
                    };
                    Grant g = new Grant(rs.getString(1), rs.getString(2), kind);
                    if (rs.getBoolean(4)) {
                        if (needed.equals(rs.getString(5))) {
                            publicGrants.add(g);
                        }
                    } else {
                        direct.computeIfAbsent(g, k -> new TreeSet<>()).add(rs.getString(5));
                    }
                }
            }
        }
    }

    private static List<Grant> sorted(Set<Grant> grants) {
        return grants.stream().sorted((a, b) -> {
            int k = Character.compare(a.kind(), b.kind());
            int s = k != 0 ? k : a.schema().compareTo(b.schema());
            return s != 0 ? s : a.name().compareTo(b.name());
        }).toList();
    }

    private static String quoted(Grant g) {
        return g.kind() == 'n' ? Sql.ident(g.schema()) : Sql.qualified(g.schema(), g.name());
    }

    private static String objectType(Grant g) {
        return switch (g.kind()) {
            case 'n' -> "SCHEMA";
            case 'S' -> "SEQUENCE";
            default -> "TABLE";
        };
    }

    private static Set<String> checked(Set<String> privileges) {
        for (String p : privileges) {
            if (!PRIVILEGE.matcher(p).matches()) {
                throw new IllegalStateException("unexpected privilege name from aclexplode: " + p);
            }
        }
        return privileges;
    }
}
