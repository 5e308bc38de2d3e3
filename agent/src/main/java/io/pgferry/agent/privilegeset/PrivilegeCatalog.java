package io.pgferry.agent.privilegeset;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.TableRef;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads owners, ACLs, default privileges, policy roles and the database's own privileges and settings of a scope
 * (its schemas minus the tables left out) from one server's catalogs. The same reader serves the source (what the
 * target must equal), the target (what it has now) and verify. Roles pgferry makes for itself are left out.
 */
public final class PrivilegeCatalog {
    private static final ObjectMapper JSON = Json.MAPPER;
    private static final TypeReference<List<AclEntry>> ACL = new TypeReference<>() {
    };
    /** An exploded ACL as JSON; acl and owner are columns of the enclosing query. */
    private static final String EXPLODED = """
            (SELECT coalesce(json_agg(json_build_object(
                        'grantee', CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                        'grantor', pg_catalog.pg_get_userbyid(e.grantor), 'privilege', e.privilege_type,
                        'grantable', e.is_grantable) ORDER BY e.grantee, e.grantor, e.privilege_type), '[]')::text
               FROM pg_catalog.aclexplode(%s) e)""";
    /**
     * Every object of the scope that has an owner or an ACL, with the category the SQL that changes it needs. Objects
     * of extensions are the extension's; identity sequences and columns follow their table's owner.
     */
    private static final String OBJECTS = """
            WITH scope AS (
              SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ANY (?::text[])
            ), excluded AS (
              SELECT c.oid FROM unnest(?::text[], ?::text[]) AS x(nsp, rel)
              JOIN pg_catalog.pg_namespace n ON n.nspname = x.nsp
              JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = x.rel
            ), members AS (
              SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'
            ), rels AS (
              SELECT c.oid, c.relowner, c.relacl, c.relkind,
                     -- the relation itself on another one: a partitioned table's key columns depend on the
                     -- table (internal), which its owner does not follow
                     EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
                             AND d.objid = c.oid AND d.objsubid = 0 AND d.refobjid <> c.oid
                             AND d.refclassid = 'pg_catalog.pg_class'::regclass
                             AND (d.deptype = 'i' OR (c.relkind = 'S' AND d.deptype = 'a'))) AS follows
                FROM pg_catalog.pg_class c
               WHERE c.relnamespace IN (SELECT oid FROM scope) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                 AND c.oid NOT IN (SELECT oid FROM excluded)
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
                                    AND d.refobjid IN (SELECT oid FROM excluded))
                 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_class'::regclass
                                 AND m.objid = c.oid)
            ), objects(classid, objid, subid, owner, acl, acltype, category, follows) AS (
              SELECT 'pg_catalog.pg_namespace'::regclass, n.oid, 0, n.nspowner, n.nspacl, 'n'::"char", 'schema', false
                FROM pg_catalog.pg_namespace n WHERE n.oid IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_class'::regclass, r.oid, 0, r.relowner, r.relacl,
                     CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                     CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                                    WHEN 'f' THEN 'foreign table' ELSE 'table' END, r.follows
                FROM rels r
              UNION ALL
              SELECT 'pg_catalog.pg_class'::regclass, a.attrelid, a.attnum, r.relowner,
                     coalesce(a.attacl, '{}'::aclitem[]), 'c'::"char", 'column', true
                FROM pg_catalog.pg_attribute a JOIN rels r ON r.oid = a.attrelid
               WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
              UNION ALL
              SELECT 'pg_catalog.pg_proc'::regclass, p.oid, 0, p.proowner, p.proacl, 'f'::"char",
                     CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, false
                FROM pg_catalog.pg_proc p
               WHERE p.pronamespace IN (SELECT oid FROM scope)
                 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_proc'::regclass
                                 AND m.objid = p.oid)
              UNION ALL
              SELECT 'pg_catalog.pg_type'::regclass, t.oid, 0, t.typowner, t.typacl, 'T'::"char",
                     CASE WHEN t.typtype = 'd' THEN 'domain' ELSE 'type' END, false
                FROM pg_catalog.pg_type t
               WHERE t.typnamespace IN (SELECT oid FROM scope) AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
                 AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
                 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_type'::regclass
                                 AND m.objid = t.oid)
              UNION ALL
              SELECT 'pg_catalog.pg_collation'::regclass, x.oid, 0, x.collowner, NULL, NULL, 'collation', false
                FROM pg_catalog.pg_collation x WHERE x.collnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_conversion'::regclass, x.oid, 0, x.conowner, NULL, NULL, 'conversion', false
                FROM pg_catalog.pg_conversion x WHERE x.connamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_operator'::regclass, x.oid, 0, x.oprowner, NULL, NULL, 'operator', false
                FROM pg_catalog.pg_operator x WHERE x.oprnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_opclass'::regclass, x.oid, 0, x.opcowner, NULL, NULL, 'operator class', false
                FROM pg_catalog.pg_opclass x WHERE x.opcnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_opfamily'::regclass, x.oid, 0, x.opfowner, NULL, NULL, 'operator family', false
                FROM pg_catalog.pg_opfamily x WHERE x.opfnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_ts_config'::regclass, x.oid, 0, x.cfgowner, NULL, NULL,
                     'text search configuration', false
                FROM pg_catalog.pg_ts_config x WHERE x.cfgnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_ts_dict'::regclass, x.oid, 0, x.dictowner, NULL, NULL, 'text search dictionary',
                     false
                FROM pg_catalog.pg_ts_dict x WHERE x.dictnamespace IN (SELECT oid FROM scope)
              UNION ALL
              SELECT 'pg_catalog.pg_statistic_ext'::regclass, x.oid, 0, x.stxowner, NULL, NULL, 'statistics', false
                FROM pg_catalog.pg_statistic_ext x
               WHERE x.stxnamespace IN (SELECT oid FROM scope) AND x.stxrelid NOT IN (SELECT oid FROM excluded)
              UNION ALL
              SELECT 'pg_catalog.pg_largeobject'::regclass, x.oid, 0, x.lomowner, x.lomacl, 'L'::"char",
                     'large object', false
                FROM pg_catalog.pg_largeobject_metadata x
            )
            SELECT o.category, a.type, a.object_names, a.object_args,
                   CASE WHEN o.category = 'column' THEN NULL ELSE pg_catalog.pg_get_userbyid(o.owner) END,
                   CASE WHEN o.acltype IS NULL THEN NULL ELSE %s END,
                   (pg_catalog.pg_identify_object(o.classid, o.objid, 0)).identity,
                   CASE WHEN o.subid = 0 THEN NULL ELSE (SELECT pg_catalog.quote_ident(attname)
                        FROM pg_catalog.pg_attribute WHERE attrelid = o.objid AND attnum = o.subid) END,
                   o.follows
              FROM objects o
             CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(o.classid, o.objid, o.subid) a
             WHERE o.objid NOT IN (SELECT objid FROM members WHERE classid = o.classid)
             ORDER BY 1, 2, 3, 4""".formatted(EXPLODED.formatted(
            "coalesce(o.acl, pg_catalog.acldefault(o.acltype, o.owner))"));
    private static final String DATABASE = """
            SELECT pg_catalog.pg_get_userbyid(d.datdba), %s, pg_catalog.shobj_description(d.oid, 'pg_database'), d.oid
              FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()""".formatted(
            EXPLODED.formatted("coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))"));
    private static final String SETTINGS = """
            SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END, c
              FROM pg_catalog.pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS c
             WHERE s.setdatabase = ? ORDER BY 1 NULLS FIRST, 2""";
    private static final String LABELS = """
            SELECT provider, label FROM pg_catalog.pg_shseclabel
             WHERE classoid = 'pg_catalog.pg_database'::regclass AND objoid = ? ORDER BY 1""";
    private static final String DEFAULT_ACLS = """
            SELECT pg_catalog.pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype::text, %s
              FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
             WHERE d.defaclnamespace = 0 OR n.nspname = ANY (?::text[])
             ORDER BY 1, 2 NULLS FIRST, 3""".formatted(EXPLODED.formatted("d.defaclacl"));
    /** Deparsed as pg_dump does, with an empty search_path: every name in the expressions is qualified. */
    private static final String POLICIES = """
            SELECT n.nspname, c.relname, p.polname,
                   ARRAY(SELECT CASE WHEN r = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(r) END
                           FROM unnest(p.polroles) r ORDER BY 1),
                   p.polpermissive, p.polcmd::text, pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                   pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
              FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY (?::text[])
               AND NOT EXISTS (SELECT 1 FROM unnest(?::text[], ?::text[]) AS x(nsp, rel)
                               WHERE x.nsp = n.nspname AND x.rel = c.relname)
             ORDER BY 1, 2, 3""";

    /**
     * An object as the target's planner needs it: its privileges plus how SQL names it on this server.
     *
     * @param category what SQL calls its kind ({@code table}, {@code materialized view}, {@code function}, ...)
     * @param identity {@code pg_identify_object}'s quoted name of the object (for a column: of its table)
     * @param column the column's quoted name, for column privileges
     * @param followsTable columns, and identity and serial sequences: their owner is their table's (ALTER TABLE ..
     *                     OWNER TO takes them along; PostgreSQL refuses to change theirs alone)
     */
    record Found(ObjectPrivileges privileges, String category, String identity, String column,
                 boolean followsTable) {
    }

    private PrivilegeCatalog() {
    }

    /** The scope's privileges as this server has them. */
    public static PrivilegeSet read(Connection c, int serverMajor, List<String> schemas, List<TableRef> excluded)
            throws SQLException {
        List<ObjectPrivileges> objects = objects(c, schemas, excluded).stream().map(Found::privileges).toList();
        List<PolicyRoles> policies = policies(c, schemas, excluded);
        List<DefaultAcl> defaults = defaultAcls(c, schemas);
        DatabasePrivileges database = database(c);
        PrivilegeSet draft = new PrivilegeSet(serverMajor, database, objects, defaults, policies, List.of());
        return new PrivilegeSet(serverMajor, database, objects, defaults, policies,
                superusers(c, List.copyOf(draft.roleNames())));
    }

    static List<Found> objects(Connection c, List<String> schemas, List<TableRef> excluded) throws SQLException {
        List<Found> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(OBJECTS)) {
            ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
            ps.setArray(2, c.createArrayOf("text", excluded.stream().map(TableRef::schema).toArray()));
            ps.setArray(3, c.createArrayOf("text", excluded.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String acl = rs.getString(6);
                    List<AclEntry> entries = acl == null ? null : withoutIgnored(parse(acl));
                    ObjectPrivileges p = new ObjectPrivileges(rs.getString(2), strings(rs.getArray(3)),
                            strings(rs.getArray(4)), rs.getString(5), entries);
                    out.add(new Found(p, rs.getString(1), rs.getString(7), rs.getString(8), rs.getBoolean(9)));
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("PostgreSQL returned an ACL that is not JSON", e);
        }
        return out;
    }

    static List<PolicyRoles> policies(Connection c, List<String> schemas, List<TableRef> excluded)
            throws SQLException {
        List<PolicyRoles> out = new ArrayList<>();
        String searchPath;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting('search_path')")) {
            rs.next();
            searchPath = rs.getString(1);
        }
        try (Statement st = c.createStatement()) {
            st.execute("SET search_path = ''");
        }
        try (PreparedStatement ps = c.prepareStatement(POLICIES)) {
            ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
            ps.setArray(2, c.createArrayOf("text", excluded.stream().map(TableRef::schema).toArray()));
            ps.setArray(3, c.createArrayOf("text", excluded.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    List<String> roles = new ArrayList<>(Arrays.asList((String[]) rs.getArray(4).getArray()));
                    roles.removeIf(RoleMap::ignored);
                    out.add(new PolicyRoles(rs.getString(1), rs.getString(2), rs.getString(3), roles,
                            rs.getBoolean(5), rs.getString(6), rs.getString(7), rs.getString(8)));
                }
            }
        } finally {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.set_config('search_path', ?, false)")) {
                ps.setString(1, searchPath);
                ps.execute();
            }
        }
        return out;
    }

    static List<DefaultAcl> defaultAcls(Connection c, List<String> schemas) throws SQLException {
        List<DefaultAcl> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(DEFAULT_ACLS)) {
            ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (!RoleMap.ignored(rs.getString(1))) {
                        out.add(new DefaultAcl(rs.getString(1), rs.getString(2), rs.getString(3),
                                withoutIgnored(parse(rs.getString(4)))));
                    }
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("PostgreSQL returned an ACL that is not JSON", e);
        }
        return out;
    }

    static DatabasePrivileges database(Connection c) throws SQLException {
        String owner;
        List<AclEntry> acl;
        String comment;
        long oid;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(DATABASE)) {
            rs.next();
            owner = rs.getString(1);
            acl = withoutIgnored(parse(rs.getString(2)));
            comment = rs.getString(3);
            oid = rs.getLong(4);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("PostgreSQL returned an ACL that is not JSON", e);
        }
        List<DatabasePrivileges.Setting> settings = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(SETTINGS)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String role = rs.getString(1);
                    String setting = rs.getString(2);
                    int eq = setting.indexOf('=');
                    String name = eq < 0 ? setting : setting.substring(0, eq);
                    // pgferry's fence is a database setting of its own (docs/design.md, "Cutover"): not the database's.
                    if (!RoleMap.ignored(role) && !(role == null && name.equals(FENCE_SETTING))) {
                        settings.add(new DatabasePrivileges.Setting(role, name, eq < 0 ? "" : setting.substring(eq + 1)));
                    }
                }
            }
        }
        List<DatabasePrivileges.SecurityLabel> labels = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(LABELS)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    labels.add(new DatabasePrivileges.SecurityLabel(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return new DatabasePrivileges(owner, acl, settings, comment, labels);
    }

    /** The fence's setting (fence/FenceService): pgferry's own, so never moved nor compared. */
    static final String FENCE_SETTING = "default_transaction_read_only";

    private static List<String> superusers(Connection c, List<String> roles) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT rolname FROM pg_catalog.pg_roles WHERE rolsuper AND rolname = ANY (?::text[]) ORDER BY 1")) {
            ps.setArray(1, c.createArrayOf("text", roles.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static List<AclEntry> parse(String json) throws com.fasterxml.jackson.core.JsonProcessingException {
        return JSON.readValue(json, ACL);
    }

    private static List<AclEntry> withoutIgnored(List<AclEntry> acl) {
        return acl.stream().filter(a -> !RoleMap.ignored(a.grantee()) && !RoleMap.ignored(a.grantor())).toList();
    }

    private static List<String> strings(Array a) throws SQLException {
        return a == null ? List.of() : Arrays.stream((String[]) a.getArray()).filter(Objects::nonNull).toList();
    }
}
