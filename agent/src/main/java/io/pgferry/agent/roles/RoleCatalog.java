package io.pgferry.agent.roles;

import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.privilegeset.RoleMap;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The roles a database needs, read from the source's catalogs: every role its privileges name (owners, grantees
 * and grantors, policy roles, default-privilege and per-database setting roles), the roles those belong to
 * (their rights come from there) and the roles that belong to them (the users of those rights), with attributes,
 * memberships and password verifiers. Predefined roles ({@code pg_*}) are never created, only memberships in
 * them are carried; pgferry's own roles are left out.
 */
public final class RoleCatalog {
    private static final String ROLES = """
            WITH RECURSIVE base AS (
              SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY (?::text[]) AND rolname !~ '^pg_'
            ), up(oid) AS (
              SELECT oid FROM base
              UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid
            ), down(oid) AS (
              SELECT oid FROM base
              UNION SELECT m.member FROM pg_catalog.pg_auth_members m JOIN down ON m.roleid = down.oid
            )
            SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                   r.rolreplication, r.rolbypassrls, r.rolconnlimit,
                   CASE WHEN r.rolvaliduntil IS NULL THEN NULL ELSE to_json(r.rolvaliduntil) #>> '{}' END,
                   pg_catalog.shobj_description(r.oid, 'pg_authid'),
                   ARRAY(SELECT unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting s
                          WHERE s.setdatabase = 0 AND s.setrole = r.oid),
                   r.oid IN (SELECT oid FROM base), r.oid IN (SELECT oid FROM up), r.oid IN (SELECT oid FROM down)
              FROM pg_catalog.pg_roles r
             WHERE r.oid IN (SELECT oid FROM up UNION SELECT oid FROM down) AND r.rolname !~ '^pg_'
             ORDER BY 1""";
    /** PostgreSQL 16 records each grant with its own options; a role granted twice counts with the widest. */
    private static final String MEMBERSHIPS_16 = """
            SELECT m.rolname, g.rolname, bool_or(a.admin_option), bool_or(a.inherit_option), bool_or(a.set_option)
              FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles g ON g.oid = a.roleid
              JOIN pg_catalog.pg_roles m ON m.oid = a.member
             WHERE m.rolname = ANY (?::text[]) GROUP BY 1, 2 ORDER BY 1, 2""";
    private static final String MEMBERSHIPS = """
            SELECT m.rolname, g.rolname, bool_or(a.admin_option), NULL::boolean, NULL::boolean
              FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles g ON g.oid = a.roleid
              JOIN pg_catalog.pg_roles m ON m.oid = a.member
             WHERE m.rolname = ANY (?::text[]) GROUP BY 1, 2 ORDER BY 1, 2""";

    /**
     * @param passwordsRead whether pg_authid could be read (superuser): else every password is {@code unknown}
     */
    public record Result(List<SourceRole> roles, boolean passwordsRead) {
    }

    private RoleCatalog() {
    }

    /** The roles {@code set} names, with their groups and members; verifiers only when asked for. */
    public static Result read(Connection c, int serverMajor, PrivilegeSet set, boolean withVerifiers)
            throws SQLException {
        Map<String, List<String>> why = reasons(set);
        Map<String, Object[]> rows = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(ROLES)) {
            ps.setArray(1, c.createArrayOf("text", why.keySet().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    if (RoleMap.ignored(name)) {
                        continue;
                    }
                    Object[] row = new Object[15];
                    for (int i = 0; i < 15; i++) {
                        row[i] = i == 11 ? rs.getArray(12).getArray() : rs.getObject(i + 1);
                    }
                    rows.put(name, row);
                }
            }
        }
        Map<String, List<SourceRole.Membership>> memberships = memberships(c, serverMajor, rows.keySet());
        Map<String, String> verifiers = new HashMap<>();
        boolean read = verifiers(c, rows.keySet(), verifiers);
        List<SourceRole> out = new ArrayList<>();
        for (Map.Entry<String, Object[]> e : rows.entrySet()) {
            Object[] r = e.getValue();
            String name = e.getKey();
            String verifier = verifiers.get(name);
            String kind = read ? PasswordVerifiers.kind(verifier) : "unknown";
            List<String> reasons = new ArrayList<>(why.getOrDefault(name, List.of()));
            if (!(Boolean) r[12] && (Boolean) r[13]) {
                reasons.add("group");
            }
            if (!(Boolean) r[12] && (Boolean) r[14]) {
                reasons.add("member");
            }
            out.add(new SourceRole(name, (Boolean) r[1], (Boolean) r[2], (Boolean) r[3], (Boolean) r[4],
                    (Boolean) r[5], (Boolean) r[6], (Boolean) r[7], ((Number) r[8]).intValue(), (String) r[9],
                    kind, withVerifiers && "scram".equals(kind) ? verifier : null,
                    Arrays.asList((String[]) r[11]), (String) r[10], memberships.getOrDefault(name, List.of()),
                    reasons));
        }
        return new Result(out, read);
    }

    /** Memberships of these roles in each other and in predefined roles (the only ones that carry rights here). */
    static Map<String, List<SourceRole.Membership>> memberships(Connection c, int serverMajor, Set<String> roles)
            throws SQLException {
        Map<String, List<SourceRole.Membership>> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(serverMajor >= 16 ? MEMBERSHIPS_16 : MEMBERSHIPS)) {
            ps.setArray(1, c.createArrayOf("text", roles.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String group = rs.getString(2);
                    if ((roles.contains(group) || RoleMap.predefined(group)) && !RoleMap.ignored(group)) {
                        out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new SourceRole.Membership(
                                group, rs.getBoolean(3), (Boolean) rs.getObject(4), (Boolean) rs.getObject(5)));
                    }
                }
            }
        }
        return out;
    }

    /** False when pg_authid is closed to the agent's role (not a superuser: a managed service). */
    static boolean verifiers(Connection c, Set<String> roles, Map<String, String> out) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT rolname, rolpassword FROM pg_catalog.pg_authid WHERE rolname = ANY (?::text[])")) {
            ps.setArray(1, c.createArrayOf("text", roles.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getString(2) != null) {
                        out.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
            return true;
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    /** Why each role the privileges name is needed. */
    private static Map<String, List<String>> reasons(PrivilegeSet set) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        java.util.function.BiConsumer<String, String> add = (role, reason) -> {
            if (role != null && !RoleMap.predefined(role) && !RoleMap.ignored(role)) {
                out.computeIfAbsent(role, k -> new TreeSet<>()).add(reason);
            }
        };
        if (set.database() != null) {
            add.accept(set.database().owner(), "database owner");
            set.database().acl().forEach(a -> {
                add.accept(a.grantee(), "grantee");
                add.accept(a.grantor(), "grantor");
            });
            set.database().settings().forEach(s -> add.accept(s.role(), "setting"));
        }
        set.objects().forEach(o -> {
            add.accept(o.owner(), "owner");
            if (o.acl() != null) {
                o.acl().forEach(a -> {
                    add.accept(a.grantee(), "grantee");
                    add.accept(a.grantor(), "grantor");
                });
            }
        });
        set.defaultAcls().forEach(d -> {
            add.accept(d.role(), "default privileges");
            d.acl().forEach(a -> add.accept(a.grantee(), "default privileges"));
        });
        set.policies().forEach(p -> p.roles().forEach(r -> add.accept(r, "policy")));
        Map<String, List<String>> result = new LinkedHashMap<>();
        out.forEach((k, v) -> result.put(k, List.copyOf(v)));
        return result;
    }
}
