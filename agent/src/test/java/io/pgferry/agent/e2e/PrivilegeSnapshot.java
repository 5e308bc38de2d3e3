package io.pgferry.agent.e2e;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The test's own reading of who owns what and who may do what, straight from one server's catalogs (written apart
 * from the agent's reader, so the agent cannot grade its own work): owners and exploded ACLs of every object of the
 * given schemas (columns included), default privileges, policies with their roles, the database's owner, ACL,
 * settings and comment, and the given roles' attributes, settings and memberships. Role names are passed through a
 * role map, so a source reads as the target should; pgferry's own roles and privileges only one of two versions
 * knows (MAINTAIN) are left out.
 */
final class PrivilegeSnapshot {
    private static final String OBJECTS = """
            WITH objs(cls, oid, sub, owner, acl, t) AS (
              SELECT 'pg_namespace'::regclass, n.oid, 0, n.nspowner, n.nspacl, 'n'::"char"
                FROM pg_namespace n WHERE n.nspname = ANY (?)
              UNION ALL
              SELECT 'pg_class'::regclass, c.oid, 0, c.relowner, c.relacl,
                     CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char"
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY (?) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              UNION ALL
              SELECT 'pg_class'::regclass, c.oid, a.attnum, c.relowner, a.attacl, 'c'::"char"
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY (?) AND a.attnum > 0 AND a.attacl IS NOT NULL
              UNION ALL
              SELECT 'pg_proc'::regclass, p.oid, 0, p.proowner, p.proacl, 'f'::"char"
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY (?)
              UNION ALL
              SELECT 'pg_type'::regclass, t.oid, 0, t.typowner, t.typacl, 'T'::"char"
                FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname = ANY (?) AND t.typtype IN ('e', 'd', 'r')
            )
            SELECT 'owner of ' || (pg_identify_object(cls, oid, sub)).identity, pg_get_userbyid(owner), '', '', ''
              FROM objs WHERE sub = 0
            UNION ALL
            SELECT 'acl of ' || (pg_identify_object(cls, oid, sub)).identity,
                   CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee) END,
                   pg_get_userbyid(e.grantor), e.privilege_type, e.is_grantable::text
              FROM objs CROSS JOIN LATERAL aclexplode(coalesce(acl, acldefault(t, owner))) e
            UNION ALL
            SELECT 'default privileges in ' || coalesce(n.nspname, '*') || ' on ' || d.defaclobjtype::text,
                   pg_get_userbyid(d.defaclrole), CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee) END,
                   e.privilege_type, e.is_grantable::text
              FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
             CROSS JOIN LATERAL aclexplode(d.defaclacl) e
            UNION ALL
            SELECT 'policy ' || p.polname || ' on ' || c.relname || ' ' || p.polcmd::text || ' ' || p.polpermissive::text || ' '
                   || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' / '
                   || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''),
                   CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END, '', '', ''
              FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid CROSS JOIN LATERAL unnest(p.polroles) r
            UNION ALL
            SELECT 'database owner', pg_get_userbyid(d.datdba), '', '', shobj_description(d.oid, 'pg_database')
              FROM pg_database d WHERE d.datname = current_database()
            UNION ALL
            SELECT 'acl of the database', CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee) END,
                   pg_get_userbyid(e.grantor), e.privilege_type, e.is_grantable::text
              FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) e
             WHERE d.datname = current_database()
            UNION ALL
            SELECT 'database setting', CASE WHEN s.setrole = 0 THEN '*' ELSE pg_get_userbyid(s.setrole) END, c, '', ''
              FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) c
             WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND c NOT LIKE 'default_transaction_read_only=%'
            """;
    private static final String ROLES = """
            SELECT 'role', r.rolname, concat_ws(' ', r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
                   r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil),
                   coalesce((SELECT string_agg(c, ',' ORDER BY c) FROM pg_db_role_setting s,
                             unnest(s.setconfig) c WHERE s.setdatabase = 0 AND s.setrole = r.oid), ''),
                   coalesce(shobj_description(r.oid, 'pg_authid'), '')
              FROM pg_roles r WHERE r.rolname = ANY (?)
            UNION ALL
            SELECT 'membership', m.rolname, g.rolname, a.admin_option::text, ''
              FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
             WHERE m.rolname = ANY (?)
            """;
    /** Which fields of each row are role names, by the row's first word. */
    private static final Map<String, int[]> ROLE_FIELDS = Map.of("owner", new int[] {1}, "acl", new int[] {1, 2},
            "default", new int[] {1, 2}, "policy", new int[] {1}, "database", new int[] {1}, "role", new int[] {1},
            "membership", new int[] {1, 2});

    private PrivilegeSnapshot() {
    }

    /**
     * @param roles the source names of the roles whose attributes and memberships to compare
     */
    static Set<String> of(PgCluster cluster, String database, List<String> schemas, List<String> roles,
                          Map<String, String> map) throws Exception {
        List<String> names = new ArrayList<>(roles);
        if (!map.isEmpty()) {
            names = roles.stream().map(r -> map.getOrDefault(r, r)).toList();
        }
        Set<String> out = new TreeSet<>();
        try (Connection c = cluster.connect(database)) {
            try (PreparedStatement ps = c.prepareStatement(OBJECTS)) {
                for (int i = 1; i <= 5; i++) {
                    ps.setArray(i, c.createArrayOf("text", schemas.toArray()));
                }
                read(ps, map, out);
            }
            try (PreparedStatement ps = c.prepareStatement(ROLES)) {
                ps.setArray(1, c.createArrayOf("text", names.toArray()));
                ps.setArray(2, c.createArrayOf("text", names.toArray()));
                read(ps, map, out);
            }
        }
        return out;
    }

    private static void read(PreparedStatement ps, Map<String, String> map, Set<String> out) throws Exception {
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String[] row = new String[5];
                for (int i = 0; i < 5; i++) {
                    row[i] = rs.getString(i + 1) == null ? "" : rs.getString(i + 1);
                }
                if ("MAINTAIN".equals(row[3]) || row[1].startsWith("pgferry_") || row[2].startsWith("pgferry_")) {
                    continue;
                }
                for (int f : ROLE_FIELDS.getOrDefault(row[0].split(" ")[0], new int[0])) {
                    row[f] = map.getOrDefault(row[f], row[f]);
                }
                out.add(String.join(" | ", row));
            }
        }
    }
}
