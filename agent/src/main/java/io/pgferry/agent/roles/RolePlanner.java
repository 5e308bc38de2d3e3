package io.pgferry.agent.roles;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Compares the roles a database needs (the source's, through the role map) with the target's, and plans what is
 * missing: roles created with the source's attributes and SCRAM verifier, memberships granted. Roles that exist are
 * cluster-wide facts of the target: they are compared, never altered; whatever would give a role on the target a
 * right it lacks on the source, or one application's role rights in another's database, is a finding that stops
 * the step. The preflight reports the same findings.
 */
public final class RolePlanner {
    private static final Pattern SETTING = Pattern.compile("([A-Za-z_][A-Za-z0-9_$]*(?:\\.[A-Za-z_][A-Za-z0-9_$]*)*)=(.*)",
            Pattern.DOTALL);
    /** Roles whose existing attributes, memberships and usage are read on the target. */
    private static final String TARGET_ROLES = """
            SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                   r.rolreplication, r.rolbypassrls, r.rolconnlimit,
                   CASE WHEN r.rolvaliduntil IS NULL THEN NULL ELSE to_json(r.rolvaliduntil) #>> '{}' END,
                   ARRAY(SELECT unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting s
                          WHERE s.setdatabase = 0 AND s.setrole = r.oid)
              FROM pg_catalog.pg_roles r WHERE r.rolname = ANY (?::text[])""";
    /**
     * Where else on the target each role (or a role it belongs to) owns objects, holds privileges, is named by a
     * policy or has settings: in another database than the migration's. Superusers are everywhere anyway.
     */
    private static final String USED_ELSEWHERE = """
            WITH RECURSIVE r0 AS (
              SELECT oid, rolname FROM pg_catalog.pg_roles WHERE rolname = ANY (?::text[]) AND NOT rolsuper
            ), up(root, oid) AS (
              SELECT oid, oid FROM r0
              UNION SELECT up.root, m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid
            )
            SELECT DISTINCT r0.rolname, d.datname
              FROM up JOIN r0 ON r0.oid = up.root
              JOIN pg_catalog.pg_shdepend s ON s.refclassid = 'pg_catalog.pg_authid'::regclass
                   AND s.refobjid = up.oid AND s.deptype IN ('o', 'a', 'r')
              JOIN pg_catalog.pg_database d ON d.oid = CASE WHEN s.dbid = 0 AND s.classid =
                   'pg_catalog.pg_database'::regclass THEN s.objid ELSE s.dbid END
             WHERE d.datname <> ?
            UNION
            SELECT r0.rolname, d.datname
              FROM up JOIN r0 ON r0.oid = up.root
              JOIN pg_catalog.pg_db_role_setting s ON s.setrole = up.oid
              JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
             WHERE d.datname <> ?
             ORDER BY 1, 2""";

    /** One finding, as the preflight reports it (docs/findings.md). */
    public record RoleFinding(String code, boolean error, List<String> objects, String message, String fix) {
    }

    /**
     * The comparison and the plan.
     *
     * @param created target names of the roles to create
     * @param present target names of the roles that exist
     * @param grants memberships to grant, as {@code member in group}
     * @param passwordsNotMoved roles created without the source's password, with why
     */
    public record Result(List<RoleFinding> findings, Plan plan, List<String> created, List<String> present,
                         List<String> grants, List<String> passwordsNotMoved) {
        public List<RoleFinding> errors() {
            return findings.stream().filter(RoleFinding::error).toList();
        }
    }

    private record Existing(String name, boolean superuser, boolean inherit, boolean createrole, boolean createdb,
                            boolean login, boolean replication, boolean bypassrls, int connectionLimit,
                            String validUntil, List<String> settings) {
    }

    /** What the agent's own role may do: it creates the roles and must be able to act as their owners. */
    private record Admin(String name, boolean superuser, boolean createrole, boolean createdb, boolean replication,
                         boolean bypassrls, int major) {
    }

    private final Connection c;
    private final RoleMap map;
    private final Set<String> allowRights;
    private final Set<String> allowShared;
    private final String database;
    private final List<RoleFinding> findings = new ArrayList<>();

    private RolePlanner(Connection c, RoleMap map, Set<String> allowRights, Set<String> allowShared,
                        String database) {
        this.c = c;
        this.map = map;
        this.allowRights = allowRights;
        this.allowShared = allowShared;
        this.database = database;
    }

    /**
     * @param allowRights target roles allowed rights beyond their source role's (superuser, other attributes,
     *                    memberships): the explicit opt-in the findings name
     * @param allowShared target roles that may also serve other databases of the target
     */
    public static Result plan(Connection c, List<SourceRole> source, RoleMap map, Set<String> allowRights,
                              Set<String> allowShared, String database) throws SQLException {
        return new RolePlanner(c, map, allowRights, allowShared, database).run(source);
    }

    private Result run(List<SourceRole> source) throws SQLException {
        Admin admin = admin();
        Set<String> sourceNames = new HashSet<>();
        source.forEach(r -> sourceNames.add(r.name()));
        mapChecks(source, sourceNames);
        Map<String, SourceRole> byTarget = new LinkedHashMap<>();
        source.forEach(r -> byTarget.putIfAbsent(map.target(r.name()), r));
        Map<String, Existing> existing = existing(byTarget.keySet());
        Map<String, Set<String>> targetGroups = targetMemberships(byTarget.keySet());
        Map<String, Set<String>> elsewhere = usedElsewhere(byTarget.keySet());

        Plan plan = new Plan();
        List<String> created = new ArrayList<>();
        List<String> present = new ArrayList<>();
        List<String> grants = new ArrayList<>();
        List<String> noPassword = new ArrayList<>();
        List<String> superusers = new ArrayList<>();
        List<String> carried = new ArrayList<>();
        List<String> cannotGrant = new ArrayList<>();
        for (Map.Entry<String, SourceRole> e : byTarget.entrySet()) {
            String t = e.getKey();
            SourceRole s = e.getValue();
            Existing x = existing.get(t);
            if (x == null) {
                created.add(t);
                if (s.superuser() && !allowRights.contains(t)) {
                    superusers.add(t);
                }
                List<String> rights = new ArrayList<>(rights(s.superuser(), s.createrole(), s.createdb(),
                        s.replication(), s.bypassrls()));
                s.memberOf().stream().filter(m -> RoleMap.predefined(m.role())).forEach(m -> rights.add(m.role()));
                if (!rights.isEmpty()) {
                    carried.add(t + " (" + String.join(", ", rights) + ")");
                }
                String missingRight = cannotGrant(admin, s);
                if (missingRight != null) {
                    cannotGrant.add(t + ": " + missingRight);
                }
                create(plan, t, s, noPassword);
            } else {
                present.add(t);
                compare(t, s, x, elsewhere.getOrDefault(t, Set.of()));
            }
        }
        if (!superusers.isEmpty()) {
            findings.add(new RoleFinding("role_superuser", true, superusers, "these roles are superusers on the "
                    + "source and do not exist on the target: creating them would make them superusers of the "
                    + "target instance, every database on it included", "map them to existing roles (role_map), "
                    + "or, if they must be superusers there, list them in allow_role_rights"));
        }
        if (!carried.isEmpty()) {
            findings.add(new RoleFinding("role_attributes_carried", false, carried, "these roles will be created "
                    + "with rights that reach beyond the database, as they have them on the source",
                    "check that they belong on the target; map them to other roles if not"));
        }
        if (!created.isEmpty() && !admin.superuser() && !admin.createrole()) {
            findings.add(new RoleFinding("cannot_create_roles", true, created, "the agent's role " + admin.name()
                    + " may not create roles (it is neither superuser nor CREATEROLE)", "ALTER ROLE "
                    + Sql.ident(admin.name()) + " CREATEROLE (or, on a managed service, use its admin role); or "
                    + "create these roles yourself and rerun"));
        }
        if (!cannotGrant.isEmpty()) {
            findings.add(new RoleFinding("cannot_grant_attribute", true, cannotGrant, "the agent's role "
                    + admin.name() + " may not give these roles the attributes they have on the source",
                    "create them as a superuser (or a role that has those attributes itself, on PostgreSQL 16+), "
                    + "or map them to existing roles"));
        }
        memberships(plan, source, byTarget, targetGroups, admin, grants);
        actAsRoles(plan, admin, byTarget.keySet(), existing.keySet());
        return new Result(List.copyOf(findings), plan, created, present, grants, noPassword);
    }

    private void mapChecks(List<SourceRole> source, Set<String> sourceNames) {
        List<String> unknown = map.map().keySet().stream().filter(k -> !sourceNames.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) {
            findings.add(new RoleFinding("role_map_unknown", true, unknown, "role_map names roles the database "
                    + "does not need (no object, privilege, policy, setting or membership names them): a typo "
                    + "would leave the role it meant unmapped", "correct the names in role_map (they are "
                    + "case-sensitive) or remove them"));
        }
        Map<String, List<String>> byTarget = new TreeMap<>();
        source.forEach(r -> byTarget.computeIfAbsent(map.target(r.name()), k -> new ArrayList<>()).add(r.name()));
        List<String> merged = new ArrayList<>();
        byTarget.forEach((t, from) -> {
            if (from.size() > 1) {
                merged.add(t + " <- " + String.join(", ", from));
            }
        });
        if (!merged.isEmpty()) {
            findings.add(new RoleFinding("role_map_merges", true, merged, "the role map makes several source roles "
                    + "one target role: it would hold the rights of all of them", "map each source role to a role "
                    + "of its own"));
        }
    }

    private static List<String> rights(boolean superuser, boolean createrole, boolean createdb, boolean replication,
                                       boolean bypassrls) {
        List<String> out = new ArrayList<>();
        if (superuser) {
            out.add("SUPERUSER");
        }
        if (createrole) {
            out.add("CREATEROLE");
        }
        if (createdb) {
            out.add("CREATEDB");
        }
        if (replication) {
            out.add("REPLICATION");
        }
        if (bypassrls) {
            out.add("BYPASSRLS");
        }
        return out;
    }

    /**
     * Null when the admin may create the role as the source has it. On 16+ a CREATEROLE role grants only attributes
     * it has itself; on 14 and 15 REPLICATION and BYPASSRLS need a superuser.
     */
    private static String cannotGrant(Admin admin, SourceRole s) {
        if (admin.superuser()) {
            return null;
        }
        List<String> missing = new ArrayList<>();
        if (s.superuser()) {
            missing.add("SUPERUSER");
        }
        if (s.replication() && (admin.major() < 16 || !admin.replication())) {
            missing.add("REPLICATION");
        }
        if (s.bypassrls() && (admin.major() < 16 || !admin.bypassrls())) {
            missing.add("BYPASSRLS");
        }
        if (s.createdb() && admin.major() >= 16 && !admin.createdb()) {
            missing.add("CREATEDB");
        }
        s.memberOf().stream().filter(m -> RoleMap.predefined(m.role())).forEach(m -> missing.add("membership in "
                + m.role()));
        return missing.isEmpty() ? null : String.join(", ", missing);
    }

    private void create(Plan plan, String t, SourceRole s, List<String> noPassword) {
        StringBuilder sql = new StringBuilder("CREATE ROLE " + Sql.ident(t) + " WITH");
        sql.append(s.superuser() ? " SUPERUSER" : " NOSUPERUSER");
        sql.append(s.inherit() ? " INHERIT" : " NOINHERIT");
        sql.append(s.createrole() ? " CREATEROLE" : " NOCREATEROLE");
        sql.append(s.createdb() ? " CREATEDB" : " NOCREATEDB");
        sql.append(s.login() ? " LOGIN" : " NOLOGIN");
        sql.append(s.replication() ? " REPLICATION" : " NOREPLICATION");
        sql.append(s.bypassrls() ? " BYPASSRLS" : " NOBYPASSRLS");
        sql.append(" CONNECTION LIMIT ").append(s.connectionLimit());
        if (s.validUntil() != null) {
            sql.append(" VALID UNTIL ").append(Sql.literal(s.validUntil()));
        }
        if (s.verifier() != null) {
            plan.addSecret(sql + " PASSWORD " + Sql.literal(s.verifier()), sql + " PASSWORD '" + StepResult.MASK
                    + "'");
        } else {
            plan.add(sql.toString());
            switch (s.password()) {
                case "md5" -> noPassword.add(t + ": its password on the source is an md5 hash, which cannot "
                        + "become a SCRAM verifier; set one on the target (ALTER ROLE .. PASSWORD), or on the "
                        + "source with password_encryption = scram-sha-256 and rerun");
                case "unknown" -> noPassword.add(t + ": the source's password could not be read (pg_authid needs "
                        + "a superuser); set it on the target (ALTER ROLE .. PASSWORD)");
                case "scram" -> noPassword.add(t + ": the verifier was not sent; rerun the roles step from the "
                        + "source's GET roles");
                default -> {
                    // no password on the source either
                }
            }
        }
        for (String setting : s.settings()) {
            var m = SETTING.matcher(setting);
            if (!m.matches()) {
                throw new io.pgferry.agent.problem.BadRequestException("roles[].settings", "setting " + setting
                        + " of role " + s.name() + " is not name=value");
            }
            plan.add("ALTER ROLE " + Sql.ident(t) + " SET " + settingName(m.group(1)) + " TO "
                    + io.pgferry.agent.privilegeset.PrivilegePlanner.settingValue(m.group(1), m.group(2)));
        }
        if (s.comment() != null) {
            plan.add("COMMENT ON ROLE " + Sql.ident(t) + " IS " + Sql.literal(s.comment()));
        }
    }

    private static String settingName(String name) {
        return String.join(".", java.util.Arrays.stream(name.split("\\.")).map(Sql::ident).toList());
    }

    /** An existing role: differences are findings, nothing is changed. */
    private void compare(String t, SourceRole s, Existing x, Set<String> otherDatabases) {
        List<String> gains = new ArrayList<>(rights(x.superuser() && !s.superuser(), x.createrole() && !s.createrole(),
                x.createdb() && !s.createdb(), x.replication() && !s.replication(), x.bypassrls() && !s.bypassrls()));
        if (!gains.isEmpty()) {
            boolean allowed = allowRights.contains(t);
            findings.add(new RoleFinding("role_attributes_differ", !allowed, List.of(t + ": " + String.join(", ",
                    gains)), "role " + t + " exists on the target with rights its source role " + s.name()
                    + " lacks" + (allowed ? " (allowed: allow_role_rights)" : ": it would gain them with the move"),
                    "map " + s.name() + " to another role (role_map), take the rights away on the target (ALTER ROLE "
                    + Sql.ident(t) + " NO...), or list " + t + " in allow_role_rights"));
        }
        List<String> other = new ArrayList<>(rights(s.superuser() && !x.superuser(), s.createrole() && !x.createrole(),
                s.createdb() && !x.createdb(), s.replication() && !x.replication(), s.bypassrls() && !x.bypassrls()));
        other.replaceAll(r -> "no " + r);
        if (s.login() != x.login()) {
            other.add(x.login() ? "LOGIN" : "NOLOGIN");
        }
        if (s.inherit() != x.inherit()) {
            other.add(x.inherit() ? "INHERIT" : "NOINHERIT");
        }
        if (s.connectionLimit() != x.connectionLimit()) {
            other.add("CONNECTION LIMIT " + x.connectionLimit());
        }
        if (!Objects.equals(s.validUntil(), x.validUntil())) {
            other.add("VALID UNTIL " + x.validUntil());
        }
        if (!new TreeSet<>(s.settings()).equals(new TreeSet<>(x.settings()))) {
            other.add("settings " + x.settings());
        }
        if (!other.isEmpty()) {
            findings.add(new RoleFinding("role_attributes_differ", false, List.of(t + ": " + String.join(", ", other)),
                    "role " + t + " exists on the target and differs from its source role " + s.name()
                    + "; the target's role is kept as it is", "if the application needs the source's, change "
                    + "the role on the target yourself (roles are shared by every database of the instance)"));
        }
        if (!otherDatabases.isEmpty() && !x.superuser()) {
            boolean allowed = allowShared.contains(t);
            findings.add(new RoleFinding("role_shared", !allowed, List.of(t + ": " + String.join(", ",
                    otherDatabases)), "role " + t + " (for source role " + s.name() + ") already owns objects, "
                    + "holds privileges or has settings in other databases of the target: using it here would "
                    + "let one application's role act in another's database" + (allowed
                    ? " (allowed: allow_shared_roles)" : ""), "map " + s.name() + " to a role of this database "
                    + "alone (role_map), or list " + t + " in allow_shared_roles if it is meant to serve both"));
        }
    }

    private void memberships(Plan plan, List<SourceRole> source, Map<String, SourceRole> byTarget,
                             Map<String, Set<String>> targetGroups, Admin admin, List<String> grants) {
        Set<String> needed = byTarget.keySet();
        List<String> extra = new ArrayList<>();
        for (SourceRole s : source) {
            String member = map.target(s.name());
            Map<String, SourceRole.Membership> wanted = new HashMap<>();
            s.memberOf().forEach(m -> wanted.put(map.target(m.role()), m));
            Set<String> have = targetGroups.getOrDefault(member, Set.of());
            for (Map.Entry<String, SourceRole.Membership> w : wanted.entrySet()) {
                if (have.contains(w.getKey())) {
                    continue;
                }
                SourceRole.Membership m = w.getValue();
                StringBuilder sql = new StringBuilder("GRANT " + Sql.ident(w.getKey()) + " TO " + Sql.ident(member));
                if (admin.major() >= 16 && m.inheritOption() != null) {
                    sql.append(" WITH ADMIN ").append(m.adminOption()).append(", INHERIT ")
                            .append(m.inheritOption()).append(", SET ").append(m.setOption());
                } else if (m.adminOption()) {
                    sql.append(" WITH ADMIN OPTION");
                }
                plan.add(sql.toString());
                grants.add(member + " in " + w.getKey());
            }
            for (String group : have) {
                if ((needed.contains(group) || RoleMap.predefined(group)) && !wanted.containsKey(group)) {
                    extra.add(member + " in " + group);
                }
            }
        }
        List<String> notAllowed = extra.stream().filter(e -> !allowRights.contains(e.substring(0, e.indexOf(" in "))))
                .toList();
        if (!extra.isEmpty()) {
            findings.add(new RoleFinding("role_membership_extra", !notAllowed.isEmpty(), extra, "on the target these "
                    + "roles are members of roles they do not belong to on the source: they would hold those "
                    + "rights too", "revoke the memberships on the target (REVOKE group FROM member), map the roles "
                    + "to others, or list the members in allow_role_rights"));
        }
    }

    /**
     * A superuser acts as anyone. Another admin (a managed service) must be able to SET ROLE to each role it makes an
     * owner (ALTER .. OWNER TO), grants as (SET ROLE), or, on 16+, the subscription applies as (each table's owner),
     * and to have its privileges to build indexes on its tables in post-data: it becomes a member of each.
     */
    private void actAsRoles(Plan plan, Admin admin, Set<String> roles, Set<String> existing) throws SQLException {
        if (admin.superuser()) {
            return;
        }
        List<String> cannot = new ArrayList<>();
        for (String r : roles) {
            if (existing.contains(r) && hasPrivilegesOf(r, admin)) {
                continue;
            }
            if (existing.contains(r) && !canGrant(r, admin)) {
                cannot.add(r);
                continue;
            }
            plan.add("GRANT " + Sql.ident(r) + " TO " + Sql.ident(admin.name()));
        }
        if (!cannot.isEmpty()) {
            findings.add(new RoleFinding("cannot_act_as_role", true, cannot, "the agent's role " + admin.name()
                    + " is no superuser and is neither a member of these roles nor may it make itself one: it could "
                    + "not make them owners of the database's objects", "GRANT <role> TO " + Sql.ident(admin.name())
                    + " as a role that may, then rerun"));
        }
    }

    private boolean hasPrivilegesOf(String role, Admin admin) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_has_role(?, ?)")) {
            ps.setString(1, role);
            ps.setString(2, "USAGE");
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private boolean canGrant(String role, Admin admin) throws SQLException {
        if (admin.major() < 16) {
            return admin.createrole();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_has_role(?, 'USAGE WITH ADMIN OPTION')")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private Admin admin() throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
                       pg_catalog.current_setting('server_version_num')::int / 10000
                  FROM pg_catalog.pg_roles WHERE rolname = current_user""")) {
            rs.next();
            return new Admin(rs.getString(1), rs.getBoolean(2), rs.getBoolean(3), rs.getBoolean(4), rs.getBoolean(5),
                    rs.getBoolean(6), rs.getInt(7));
        }
    }

    private Map<String, Existing> existing(Set<String> names) throws SQLException {
        Map<String, Existing> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(TARGET_ROLES)) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new Existing(rs.getString(1), rs.getBoolean(2), rs.getBoolean(3),
                            rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6), rs.getBoolean(7), rs.getBoolean(8),
                            rs.getInt(9), rs.getString(10), java.util.Arrays.asList((String[]) rs.getArray(11)
                            .getArray())));
                }
            }
        }
        return out;
    }

    private Map<String, Set<String>> targetMemberships(Set<String> names) throws SQLException {
        Map<String, Set<String>> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT m.rolname, g.rolname FROM pg_catalog.pg_auth_members a
                  JOIN pg_catalog.pg_roles g ON g.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member
                 WHERE m.rolname = ANY (?::text[])""")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new HashSet<>()).add(rs.getString(2));
                }
            }
        }
        return out;
    }

    private Map<String, Set<String>> usedElsewhere(Set<String> names) throws SQLException {
        Map<String, Set<String>> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(USED_ELSEWHERE)) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            ps.setString(2, database);
            ps.setString(3, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new TreeSet<>()).add(rs.getString(2));
                }
            }
        }
        return out;
    }
}
